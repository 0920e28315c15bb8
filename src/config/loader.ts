import { securitySchema } from '../crypto/data-keys.ts';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { HearthError } from '../errors.ts';
import { BILLING_FIELDS, OWNED_FIELDS, type BillingField, type OwnedField } from '../canonical/fields.ts';
import {
  CONNECTORS,
  defaultOwnership,
  descriptorOf,
  namesWith,
  type Capability,
  type ConnectorsConfig,
  type Descriptors,
} from '../connectors/registry.ts';
import { DEFAULT_RECONCILE_POLICIES, RECONCILE_POLICIES } from '../reconcile/policy.ts';
import { rejectUnknownKeys } from './unknown-keys.ts';
import { governanceSchema } from '../governance/quality-schema.ts';
import { markRefs, substituteValues } from './substitute.ts';

const reconcile = z
  .object({
    schedule_minutes: z.number().min(0).default(0).describe('Minutes between scheduled runs; 0: on demand only.'),
    page_size: z.number().int().min(1).max(2000).default(100).describe('Records asked for per page of a pull.'),
    policies: z
      .partialRecord(z.enum(OWNED_FIELDS), z.enum(RECONCILE_POLICIES))
      .default({})
      // Email is an identity key: Hearth never rewrites it in a CRM; it can be reviewed or reported.
      .refine((p) => p.email !== 'heal', {
        message: 'heal is not supported for email (an identity key); use review or report',
      })
      .transform((p) => ({ ...DEFAULT_RECONCILE_POLICIES, ...p })),
  })
  .prefault({});

/** The whole config schema; `connectors` is composed from the registered descriptors. */
export function configSchema(descriptors: Descriptors) {
  return z.object({
    database: z
      .string()
      .default('sqlite:./data/hearth.db')
      .describe('Database URL: `sqlite:PATH` or `postgres://...` (HEARTH_DB and --db override it).'),
    server: z
      .object({
        host: z.string().default('127.0.0.1').describe('Address the HTTP server listens on.'),
        port: z.number().int().min(0).max(65535).default(4000).describe('Port of the HTTP server (0: any free port).'),
        body_limit_bytes: z
          .number()
          .int()
          .positive()
          .default(1_048_576)
          .describe('Largest request body accepted (413 above).'),
        api_body_limit_bytes: z
          .number()
          .int()
          .positive()
          .default(262_144)
          .describe('Largest `/v1` request body (API calls are small; webhooks use body_limit_bytes).'),
        rate_limit_per_minute: z
          .number()
          .int()
          .min(0)
          .default(1200)
          .describe('Requests per minute per API key on `/v1` (429 + Retry-After beyond it); 0: no limit.'),
        cors_origins: z
          .array(z.string().min(1))
          .default([])
          .describe('Origins allowed to call the API from a browser (CORS); empty: no CORS headers.'),
      })
      .default({
        host: '127.0.0.1',
        port: 4000,
        body_limit_bytes: 1_048_576,
        api_body_limit_bytes: 262_144,
        rate_limit_per_minute: 1200,
        cors_origins: [],
      }),
    connectors: connectorsSchema(descriptors).default({} as ConnectorsConfig),
    writeback: z
      .object({
        crm: z
          .string()
          .nullable()
          .default(null)
          .describe('The connector that receives address write-backs (needs the writeback capability).'),
        sync_window_seconds: z
          .number()
          .positive()
          .default(60)
          .describe('A write-back done later than this after its origin counts as late.'),
      })
      .default({ crm: null, sync_window_seconds: 60 }),
    ownership: z
      .partialRecord(z.enum([...OWNED_FIELDS, ...BILLING_FIELDS]), z.array(z.string()).min(1))
      .default({})
      .describe(
        'Per field, the systems that may set it, highest precedence first (billing fields too, e.g. ' +
          '`billing_address: [stripe]`). Every field is projected to the systems that read the customer view.',
      ),
    /** Where households come from: the CRM that is their authority, and how it models them. */
    households: z
      .object({
        source: z.string().min(1),
        hubspot_mode: z
          .enum(['company', 'contact_labels'])
          .default('company')
          .describe('HubSpot: company-as-household, or contact-to-contact labelled associations.'),
        opt_in_property: z
          .string()
          .min(1)
          .default('points_aggregation_opt_in')
          .describe('The CRM contact property holding points_aggregation_opt_in (explicit consent).'),
        head_labels: z
          .array(z.string().min(1))
          .default(['Head of household', 'Primary contact'])
          .describe('Association labels that make a contact the head (HubSpot), case-insensitive.'),
        member_labels: z.array(z.string().min(1)).default(['Household member']),
        page_size: z.number().int().min(1).max(200).default(100),
      })
      .nullable()
      .default(null),
    jobs: z
      .object({
        max_attempts: z.number().int().min(1).default(8).describe('Attempts before a job becomes a dead letter.'),
        base_delay_ms: z
          .number()
          .int()
          .min(1)
          .default(500)
          .describe('First retry delay; doubles per attempt, with jitter.'),
        max_delay_ms: z.number().int().min(1).default(300_000).describe('Longest retry delay.'),
        lease_seconds: z
          .number()
          .int()
          .min(1)
          .default(60)
          .describe('How long a claimed job is held before another worker may take it.'),
        poll_interval_ms: z.number().int().min(1).default(100).describe('How often idle workers look for work.'),
        batch_size: z.number().int().min(1).max(100).default(50).describe('Jobs handed to a connector at once.'),
        apply_batch_size: z
          .number()
          .int()
          .min(1)
          .max(5000)
          .default(500)
          .describe('Inbox events applied in one transaction.'),
        apply_linger_ms: z
          .number()
          .int()
          .min(0)
          .max(1000)
          .default(5)
          .describe(
            'How long the apply loop lets new events gather before each round (group commit): ' +
              'fewer, larger transactions under load for a few ms of latency. 0: apply at once.',
          ),
        concurrency: z
          .number()
          .int()
          .min(1)
          .max(32)
          .default(4)
          .describe('Batches of one target in flight at once, so one slow contact never blocks the others.'),
      })
      .default({
        max_attempts: 8,
        base_delay_ms: 500,
        max_delay_ms: 300_000,
        lease_seconds: 60,
        poll_interval_ms: 100,
        batch_size: 50,
        apply_batch_size: 500,
        apply_linger_ms: 5,
        concurrency: 4,
      }),
    webhooks: z
      .object({
        replay_window_seconds: z
          .number()
          .int()
          .positive()
          .default(300)
          .describe('Webhooks signed longer ago than this are refused.'),
      })
      .default({ replay_window_seconds: 300 }),
    loyalty: z
      .object({
        points_per_unit: z
          .number()
          .min(0)
          .default(1)
          .describe('Points earned per 1.00 of order total (any currency; mixed currencies are not converted).'),
        tier_window_days: z
          .number()
          .int()
          .min(1)
          .default(365)
          .describe('Rolling window of qualifying spend for tiers.'),
        /** Tiers by minimum qualifying spend (major units), lowest first. */
        tiers: z
          .array(z.object({ name: z.string().min(1), min_spend: z.number().min(0) }))
          .min(1)
          .default([
            { name: 'member', min_spend: 0 },
            { name: 'silver', min_spend: 500 },
            { name: 'gold', min_spend: 1500 },
          ]),
        redemption_authority: z
          .enum(['any_opted_in', 'head_only'])
          .default('any_opted_in')
          .describe('Who may redeem from a household pool.'),
        split_policy: z
          .enum(['stays_with_household', 'member_takes_share'])
          .default('stays_with_household')
          .describe('On opt-out or leaving: the pool keeps everything, or the member takes their attributed share.'),
        adjustment_alert_rate: z
          .number()
          .min(0)
          .max(1)
          .default(0.02)
          .describe('Alert when manual adjustments exceed this share of ledger entries.'),
        points_expire_days: z
          .number()
          .int()
          .positive()
          .nullable()
          .default(null)
          .describe('Earned points expire this many days after the order (oldest first); null: never.'),
      })
      .default({
        points_per_unit: 1,
        tier_window_days: 365,
        tiers: [
          { name: 'member', min_spend: 0 },
          { name: 'silver', min_spend: 500 },
          { name: 'gold', min_spend: 1500 },
        ],
        redemption_authority: 'any_opted_in',
        split_policy: 'stays_with_household',
        adjustment_alert_rate: 0.02,
        points_expire_days: null,
      }),
    identity: z
      .object({
        enabled: z.boolean().default(true).describe('Match new source records against existing customers at ingest.'),
        auto_link: z
          .number()
          .min(0)
          .max(1)
          .default(0.95)
          .describe('Match probability at or above which a record is linked automatically.'),
        review: z
          .number()
          .min(0)
          .max(1)
          .default(0.6)
          .describe('Probability at or above which (below auto_link) a pair goes to the review queue.'),
        default_country: z
          .string()
          .length(2)
          .default('US')
          .describe('Country for phone numbers written without a country code.'),
      })
      .refine((v) => v.review <= v.auto_link, { message: 'review must not exceed auto_link' })
      .default({ enabled: true, auto_link: 0.95, review: 0.6, default_country: 'US' }),
    reconcile,
    /** Plausibility rules for checkout addresses (address/plausibility.ts); a failing address is quarantined. */
    addresses: z
      .object({
        plausibility: z
          .object({
            street_letters: z.boolean().default(true),
            emoji: z.boolean().default(true),
            markup: z.boolean().default(true),
            region_format: z.boolean().default(true),
          })
          .prefault({}),
      })
      .prefault({}),
    governance: governanceSchema.describe('Data governance: quality rules per field (checked at ingest).'),
    security: securitySchema.describe(
      'Encryption at rest: data keys (AES-256-GCM) and the lookup key for keyed hashes.',
    ),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .default({ level: 'info' }),
  });
}

type ParsedConfig = z.infer<ReturnType<typeof configSchema>>;

export type HearthConfig = ParsedConfig & {
  /** The connector descriptors this process runs with (the shipped registry unless a test adds one). */
  descriptors: Descriptors;
  /** The bootstrap admin key from HEARTH_API_KEY, if set. */
  bootstrap_api_key: string | undefined;
  ownership: Record<OwnedField, string[]> & Partial<Record<BillingField, string[]>>;
};

export interface ConfigSources {
  file?: string | undefined;
  /** Values from CLI flags, already in config shape; they override the file. */
  overrides?: { database?: string | undefined; host?: string | undefined; port?: number | undefined };
  env: Record<string, string | undefined>;
}

/** Reads, substitutes and validates the configuration once; everything else receives the result. */
export function loadConfig(sources: ConfigSources, descriptors: Descriptors = CONNECTORS): HearthConfig {
  const raw = sources.file ? readConfigFile(sources.file, sources.env) : {};
  const merged = applyOverrides(raw, sources.overrides ?? {}, sources.env);
  return parseConfig(merged, sources.env, descriptors);
}

export function parseConfig(
  raw: unknown,
  env: Record<string, string | undefined> = {},
  descriptors: Descriptors = CONNECTORS,
): HearthConfig {
  const schema = configSchema(descriptors);
  rejectUnknownKeys(schema, raw);
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.join('.') || '(root)';
    throw new HearthError('invalid_config', `config ${where}: ${issue.message}`, { path: where });
  }
  const cfg = result.data;
  validateWriteback(cfg, descriptors);
  validateHouseholds(cfg, descriptors);
  // An allow-list for a connector that is not configured is a typo that would let every field out.
  for (const name of Object.keys(cfg.governance.minimisation))
    if (!(cfg.connectors as Record<string, unknown>)[name])
      throw invalidAt(`governance.minimisation.${name}`, `connector "${name}" is not configured`);
  return {
    ...cfg,
    descriptors,
    ownership: { ...defaultOwnership(descriptors), ...cfg.ownership },
    bootstrap_api_key: env.HEARTH_API_KEY || undefined,
  };
}

function validateWriteback(cfg: ParsedConfig, descriptors: Descriptors): void {
  requireConnector(cfg, descriptors, 'writeback.crm', cfg.writeback.crm, 'writeback');
}

function validateHouseholds(cfg: ParsedConfig, descriptors: Descriptors): void {
  const source = cfg.households?.source ?? null;
  requireConnector(cfg, descriptors, 'households.source', source, 'pull');
  if (source && !descriptorOf(descriptors, source)?.households)
    throw invalidAt('households.source', `connector "${source}" cannot read households`);
}

/** A connector named in config must exist, have the capability, and be configured. */
function requireConnector(
  cfg: ParsedConfig,
  descriptors: Descriptors,
  path: string,
  name: string | null,
  capability: Capability,
): void {
  if (!name) return;
  const able = namesWith(descriptors, capability);
  if (!able.includes(name)) throw invalidAt(path, `"${name}" is not one of ${able.join(', ')}`);
  if (!(cfg.connectors as Record<string, unknown>)[name])
    throw invalidAt(path, `connector "${name}" is not configured under connectors.${name}`);
}

function invalidAt(path: string, message: string): HearthError {
  return new HearthError('invalid_config', `config ${path}: ${message}`, { path });
}

function connectorsSchema(descriptors: Descriptors): z.ZodType<ConnectorsConfig> {
  return z.object(
    Object.fromEntries(descriptors.map((d) => [d.name, d.config.optional()])),
  ) as unknown as z.ZodType<ConnectorsConfig>;
}

function readConfigFile(file: string, env: Record<string, string | undefined>): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new HearthError(
      'invalid_config',
      `config file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`,
    );
  }
  let parsed: unknown;
  try {
    const marked = markRefs(text);
    parsed = file.endsWith('.json') ? JSON.parse(marked) : (parseYaml(marked) ?? {});
  } catch (err) {
    throw new HearthError('invalid_config', `config file ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  // Parsed first, then substituted: a value is never re-read as YAML.
  return substituteValues(parsed, env, file);
}

function applyOverrides(
  raw: unknown,
  o: NonNullable<ConfigSources['overrides']>,
  env: Record<string, string | undefined>,
): unknown {
  const base = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const server = { ...((base.server as Record<string, unknown>) ?? {}) };
  if (o.host !== undefined) server.host = o.host;
  if (o.port !== undefined) server.port = o.port;
  const database = o.database ?? env.HEARTH_DB ?? base.database;
  return { ...base, server, ...(database !== undefined ? { database } : {}) };
}
