import { z } from 'zod';
import type { Descriptors } from '../connectors/registry.ts';
import { configSchema } from './loader.ts';

type JsonSchema = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
};

const HEAD = `# Configuration reference

Generated from the config schema (\`src/config/loader.ts\` and each connector's descriptor) by
\`hearth config reference\`; \`npm run docs:config\` rewrites this file and a test fails when it is
stale. Check a file with \`hearth config check FILE\`. Values may use \`\${VAR}\`: the file is parsed
first, then each \`\${VAR}\` in a value is replaced by that environment variable (keys and comments
are never substituted; a value that is exactly \`\${VAR}\` holding a number or true/false takes
that type). An unknown key is an error naming the nearest known one.

| key | type | default | description |
|---|---|---|---|
`;

/** The configuration reference (Markdown): one row per key, nested keys dotted, from the schema itself. */
export function configReference(descriptors: Descriptors): string {
  const json = z.toJSONSchema(configSchema(descriptors), { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const rows: string[] = [];
  walk(json, '', rows);
  return `${HEAD}${rows.join('\n')}\n`;
}

function walk(s: JsonSchema, path: string, rows: string[]): void {
  const node = objectOf(s);
  if (path) rows.push(row(path, s, node));
  if (!node?.properties) return;
  for (const [key, child] of Object.entries(node.properties)) walk(child, path ? `${path}.${key}` : key, rows);
}

/** The object branch of a schema (through nullable / anyOf), if it has one. */
function objectOf(s: JsonSchema): JsonSchema | undefined {
  if (s.properties) return s;
  return (s.anyOf ?? s.oneOf)?.find((b) => b.properties);
}

function row(path: string, s: JsonSchema, node: JsonSchema | undefined): string {
  const description = s.description ?? node?.description ?? '';
  const def = s.default === undefined || node ? '' : `\`${JSON.stringify(s.default)}\``;
  return `| \`${path}\` | ${typeOf(s)} | ${def} | ${description.replaceAll('|', '\\|').replaceAll('\n', ' ')} |`;
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (s.anyOf ?? s.oneOf) return [...new Set((s.anyOf ?? s.oneOf)!.map(typeOf))].join(' or ');
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'any'}`;
  if (s.type === 'object' && !s.properties && typeof s.additionalProperties === 'object')
    return `map of ${typeOf(s.additionalProperties)}`;
  const max = s.maximum === Number.MAX_SAFE_INTEGER ? undefined : s.maximum;
  const range = s.minimum !== undefined || max !== undefined ? ` (${s.minimum ?? ''}..${max ?? ''})` : '';
  return `${Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'any')}${range}`;
}
