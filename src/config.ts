import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { HearthError } from './errors.ts';

/** Canonical customer fields whose writers are governed by the ownership policy. */
export const OWNED_FIELDS = ['given_name', 'family_name', 'email', 'phone', 'address'] as const;
export type OwnedField = (typeof OWNED_FIELDS)[number];

const webhookTarget = z.object({
  name: z.string().regex(/^[a-z0-9_-]+$/, 'lowercase letters, digits, - and _'),
  url: z.url(),
  secret: z.string().min(8, 'at least 8 characters'),
  events: z.array(z.string()).default(['address.corrected']),
});

const connectors = z.object({
  shopify: z.object({ webhook_secret: z.string().min(1) }).optional(),
  hubspot: z
    .object({
      access_token: z.string().min(1),
      base_url: z.url().default('https://api.hubapi.com'),
      client_secret: z.string().min(1).optional(),
      app_id: z.string().optional(),
      webhook_url: z.string().optional(),
    })
    .optional(),
  salesforce: z
    .object({
      instance_url: z.url(),
      access_token: z.string().min(1),
      api_version: z.string().default('62.0'),
      client_id: z.string().default('hearth'),
      cdc_secret: z.string().min(8).optional(),
    })
    .optional(),
  webhook: z.object({ targets: z.array(webhookTarget).default([]) }).optional(),
});

const schema = z.object({
  database: z.string().default('sqlite:./data/hearth.db'),
  server: z
    .object({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(4000),
      body_limit_bytes: z.number().int().positive().default(1_048_576),
    })
    .default({ host: '127.0.0.1', port: 4000, body_limit_bytes: 1_048_576 }),
  connectors: connectors.default({}),
  writeback: z
    .object({
      crm: z.enum(['hubspot', 'salesforce']).nullable().default(null),
      sync_window_seconds: z.number().positive().default(60),
    })
    .default({ crm: null, sync_window_seconds: 60 }),
  ownership: z
    .partialRecord(z.enum(OWNED_FIELDS), z.array(z.string()).min(1))
    .default({}),
  jobs: z
    .object({
      max_attempts: z.number().int().min(1).default(8),
      base_delay_ms: z.number().int().min(1).default(500),
      max_delay_ms: z.number().int().min(1).default(300_000),
      lease_seconds: z.number().int().min(1).default(60),
      poll_interval_ms: z.number().int().min(1).default(100),
      batch_size: z.number().int().min(1).max(100).default(50),
      apply_batch_size: z.number().int().min(1).max(5000).default(500),
    })
    .default({ max_attempts: 8, base_delay_ms: 500, max_delay_ms: 300_000, lease_seconds: 60, poll_interval_ms: 100, batch_size: 50, apply_batch_size: 500 }),
  webhooks: z
    .object({ replay_window_seconds: z.number().int().positive().default(300) })
    .default({ replay_window_seconds: 300 }),
  log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).default({ level: 'info' }),
});

export type HearthConfig = z.infer<typeof schema> & {
  /** The bootstrap admin key from HEARTH_API_KEY, if set. */
  bootstrap_api_key: string | undefined;
  ownership: Record<OwnedField, string[]>;
};

/** Default precedence: checkout-validated addresses outrank the CRM's; the CRM owns names. */
export const DEFAULT_OWNERSHIP: Record<OwnedField, string[]> = {
  given_name: ['hubspot', 'salesforce', 'zoho', 'api', 'shopify'],
  family_name: ['hubspot', 'salesforce', 'zoho', 'api', 'shopify'],
  email: ['hubspot', 'salesforce', 'zoho', 'api', 'shopify'],
  phone: ['shopify', 'hubspot', 'salesforce', 'zoho', 'api'],
  address: ['shopify', 'api', 'hubspot', 'salesforce', 'zoho'],
};

export interface ConfigSources {
  file?: string | undefined;
  /** Values from CLI flags, already in config shape; they override the file. */
  overrides?: { database?: string | undefined; host?: string | undefined; port?: number | undefined };
  env: Record<string, string | undefined>;
}

/** Reads, substitutes and validates the configuration once; everything else receives the result. */
export function loadConfig(sources: ConfigSources): HearthConfig {
  const raw = sources.file ? readConfigFile(sources.file, sources.env) : {};
  const merged = applyOverrides(raw, sources.overrides ?? {}, sources.env);
  return parseConfig(merged, sources.env);
}

export function parseConfig(raw: unknown, env: Record<string, string | undefined> = {}): HearthConfig {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.join('.') || '(root)';
    throw new HearthError('invalid_config', `config ${where}: ${issue.message}`, { path: where });
  }
  const cfg = result.data;
  validateWriteback(cfg);
  return {
    ...cfg,
    ownership: { ...DEFAULT_OWNERSHIP, ...cfg.ownership },
    bootstrap_api_key: env.HEARTH_API_KEY || undefined,
  };
}

function validateWriteback(cfg: z.infer<typeof schema>): void {
  const crm = cfg.writeback.crm;
  if (crm && !cfg.connectors[crm]) {
    throw new HearthError('invalid_config', `config writeback.crm: connector "${crm}" is not configured under connectors.${crm}`, {
      path: 'writeback.crm',
    });
  }
}

function readConfigFile(file: string, env: Record<string, string | undefined>): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new HearthError('invalid_config', `config file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  const substituted = substituteEnv(text, env, file);
  try {
    return file.endsWith('.json') ? JSON.parse(substituted) : (parseYaml(substituted) ?? {});
  } catch (err) {
    throw new HearthError('invalid_config', `config file ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** `${NAME}` is replaced by the environment value; a missing variable is an error, not an empty secret. */
export function substituteEnv(text: string, env: Record<string, string | undefined>, file = 'config'): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
    const value = env[name];
    if (value === undefined) throw new HearthError('invalid_config', `config file ${file}: environment variable ${name} is not set`);
    return value;
  });
}

function applyOverrides(raw: unknown, o: NonNullable<ConfigSources['overrides']>, env: Record<string, string | undefined>): unknown {
  const base = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const server = { ...((base.server as Record<string, unknown>) ?? {}) };
  if (o.host !== undefined) server.host = o.host;
  if (o.port !== undefined) server.port = o.port;
  const database = o.database ?? env.HEARTH_DB ?? base.database;
  return { ...base, server, ...(database !== undefined ? { database } : {}) };
}
