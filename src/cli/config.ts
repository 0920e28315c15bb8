import { loadConfig } from '../config/loader.ts';
import { configReference } from '../config/reference.ts';
import { HearthError } from '../errors.ts';
import { parseFlags, writeLine, type CliIo } from './io.ts';

const HELP = `hearth config check FILE    validate a config file (YAML or JSON) with this environment's \${VAR}s
hearth config reference     print the configuration reference (Markdown) generated from the schema`;

/** `hearth config check FILE` and `hearth config reference`. */
export async function configCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, { help: { type: 'boolean', short: 'h' } }, true);
  const [sub, file, ...extra] = positionals;
  if (values.help || !sub) {
    writeLine(values.help ? io.stdout : io.stderr, HELP);
    return values.help ? 0 : 2;
  }
  if (sub === 'reference' && !file) {
    io.stdout.write(configReference(loadConfig({ env: {} }).descriptors));
    return 0;
  }
  if (sub !== 'check' || !file || extra.length > 0)
    throw new HearthError('invalid_input', 'usage: hearth config check FILE | hearth config reference');
  const c = loadConfig({ file, env: io.env });
  const connectors = Object.keys(c.connectors).filter((k) => (c.connectors as Record<string, unknown>)[k]);
  writeLine(
    io.stdout,
    `${file}: valid (database ${c.database.replace(/\/\/[^@/]*@/, '//***@')}; ` +
      `connectors: ${connectors.join(', ') || 'none'}; write-back CRM: ${c.writeback.crm ?? 'none'})`,
  );
  return 0;
}
