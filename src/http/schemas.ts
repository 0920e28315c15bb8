/**
 * The shared pieces of the OpenAPI document: component schemas (registered once with `$id`,
 * referenced as `{ $ref: 'Name#' }`), the one cursor-paging shape, and `op()`, which builds a
 * route's schema with its success response and the error envelope of every code it can answer.
 * `openapi.test.ts` fails when a route is registered without them.
 */
import type { FastifyInstance, FastifySchema } from 'fastify';
import { Ajv, type ValidateFunction } from 'ajv';
import { ERROR_CODES, type ErrorCode, HearthError } from '../errors.ts';
import { GOVERNANCE_COMPONENTS } from './governance-schemas.ts';

type Json = Record<string, unknown>;

/** `{ $ref: 'Name#' }`: a component schema by name. */
export const ref = (name: string): Json => ({ $ref: `${name}#` });
const str = { type: 'string' } as const;
const nstr = { type: ['string', 'null'] } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const bool = { type: 'boolean' } as const;
const ntime = { type: ['string', 'null'], format: 'date-time' } as const;
const time = { type: 'string', format: 'date-time' } as const;
const any = {} as const;
const obj = (properties: Json, required: string[] = Object.keys(properties), description?: string): Json => ({
  type: 'object',
  ...(description ? { description } : {}),
  properties,
  required,
});
const arr = (items: Json): Json => ({ type: 'array', items });

/** `{ id }` path parameter, the one most routes take. */
export const idParam = obj({ id: { type: 'string', minLength: 1 } });
/** `{ name }` path parameter (a connector name). */
export const nameParam = obj({ name: { type: 'string', minLength: 1 } });

/** The page size every list takes. */
export const limitParam = { type: 'integer', minimum: 1, maximum: 500, default: 100 } as const;

/**
 * The one cursor-paging shape. Query: `limit` and `after` (the `next_after` of the previous page,
 * opaque to the client). Answer: `{ data: [...], next_after }`, `next_after` null on the last page.
 */
export function pageQuery(properties: Json = {}): Json {
  return {
    type: 'object',
    additionalProperties: false,
    properties: { ...properties, limit: limitParam, after: { type: 'string', minLength: 1 } },
  };
}

/** The paged answer schema whose items are the component `item`; `extra` adds top-level fields. */
export function page(item: string, extra: Json = {}): Json {
  return obj(
    { ...extra, data: arr(ref(item)), next_after: { ...nstr, description: 'pass as `after` for the next page' } },
    ['data', 'next_after', ...Object.keys(extra)],
  );
}

/** Builds a page from rows fetched with `limit`: `next_after` is the cursor of the last row when the page is full. */
export function pageOf<R, T>(rows: R[], limit: number, view: (r: R) => T, cursor: (r: R) => string) {
  return { data: rows.map(view), next_after: rows.length === limit && rows.length > 0 ? cursor(rows.at(-1)!) : null };
}

const address = obj(
  {
    line1: nstr,
    line2: nstr,
    city: nstr,
    region: nstr,
    postal_code: nstr,
    country: nstr,
    key: { ...nstr, description: 'delivery-point key (USPS Pub. 28 normalised)' },
    source: { ...nstr, description: 'system that last set the address' },
    validated_at: ntime,
  },
  ['line1', 'city', 'region', 'postal_code', 'country'],
);

const customerProps = {
  id: str,
  given_name: nstr,
  family_name: nstr,
  email: nstr,
  phone: nstr,
  address: { oneOf: [{ type: 'null' }, address] },
  merged_into: nstr,
  version: int,
  created_at: time,
  updated_at: time,
};

const job = obj({
  id: str,
  target: { ...str, description: 'job target: the write-back CRM, `webhook:<name>`, an IdP' },
  kind: str,
  key: str,
  status: { type: 'string', enum: ['pending', 'running', 'done', 'dead', 'superseded', 'shadow'] },
  attempts: int,
  max_attempts: int,
  customer_id: nstr,
  event_id: nstr,
  last_error: { ...nstr, description: 'the vendor error, scrubbed of credentials' },
  last_error_kind: nstr,
  origin_at: time,
  run_at: time,
  created_at: time,
  updated_at: time,
  done_at: ntime,
  lag_seconds: { type: ['number', 'null'], description: 'done_at − origin_at' },
  payload: any,
});

const membership = {
  customer_id: str,
  hierarchy_role: { type: 'string', enum: ['head', 'member'] },
  points_aggregation_opt_in: bool,
  valid_from: time,
  valid_to: ntime,
};

const ledgerEntry = obj({
  id: str,
  kind: str,
  account_id: str,
  customer_id: nstr,
  household_id: nstr,
  points: int,
  spend: num,
  currency: nstr,
  order_id: nstr,
  order_name: nstr,
  ref_entry_id: nstr,
  source: nstr,
  actor: nstr,
  reason: nstr,
  idempotency_key: nstr,
  occurred_at: time,
  created_at: time,
});

const tally = { compared: int, drifted: int, format_only: int };
const scoreLine = obj({ system: str, field: str, ...tally, drift_rate: num, format_only_rate: num });

const run = obj({
  id: str,
  status: { type: 'string', enum: ['running', 'paused', 'failed', 'done'] },
  trigger: str,
  actor: nstr,
  systems: arr(str),
  position: {
    oneOf: [{ type: 'null' }, obj({ system: str, cursor: nstr })],
    description: 'where the run resumes: the system being pulled and the cursor of its next page',
  },
  pages: int,
  records: int,
  matched: int,
  unmatched: int,
  findings: int,
  jobs: int,
  error: nstr,
  started_at: time,
  updated_at: time,
  finished_at: ntime,
  scorecard: arr(ref('ScoreLine')),
});

const finding = obj({
  id: str,
  run_id: str,
  system: str,
  external_id: str,
  customer_id: nstr,
  field: str,
  kind: { type: 'string', enum: ['drift', 'format_only'] },
  policy: str,
  status: { type: 'string', enum: ['open', 'healing', 'reported', 'ignored', 'dismissed', 'superseded'] },
  canonical_value: nstr,
  system_value: nstr,
  detail: any,
  job_id: nstr,
  decided_by: nstr,
  decided_at: ntime,
  created_at: time,
});

const sourceRecord = obj({ system: str, external_id: str, snapshot: any, linked_at: time, updated_at: time });
const customerWithRecords = {
  oneOf: [
    obj({ ...customerProps, source_records: arr(ref('SourceRecord')) }),
    obj({ id: str, missing: { const: true } }, ['id', 'missing'], 'a customer id that no longer exists'),
  ],
};

/** Component schemas, by name. Add a new one here (not inline in a route) when a client should see its name. */
export const COMPONENTS: Record<string, Json> = {
  ErrorEnvelope: obj(
    {
      error: obj(
        {
          code: { type: 'string', enum: Object.keys(ERROR_CODES) },
          message: str,
          details: { type: 'object', additionalProperties: true, description: 'e.g. `field` for bad input' },
        },
        ['code', 'message'],
      ),
    },
    ['error'],
    'Every 4xx/5xx answer; `code` is stable, `message` is for people.',
  ),
  Address: address,
  Customer: obj(customerProps),
  SourceRecord: sourceRecord,
  Change: obj({
    id: str,
    field: str,
    old_value: nstr,
    new_value: nstr,
    source_system: nstr,
    actor: nstr,
    event_id: nstr,
    changed_at: time,
  }),
  Job: job,
  CustomerDetail: obj({
    ...customerProps,
    household_id: nstr,
    hierarchy_role: nstr,
    points_aggregation_opt_in: bool,
    tier: nstr,
    points_balance: int,
    source_records: arr(ref('SourceRecord')),
    changes: arr(ref('Change')),
    jobs: arr(ref('Job')),
  }),
  InboxEvent: obj({
    id: str,
    connector: str,
    delivery_id: str,
    type: str,
    status: { type: 'string', enum: ['pending', 'applied', 'ignored', 'echo', 'failed'] },
    attempts: int,
    error: nstr,
    received_at: time,
    applied_at: ntime,
    event: any,
  }),
  LateWritebacks: page('Job', { sync_window_seconds: num }),
  ApiKey: obj({ id: str, name: str, role: str, created_at: time, revoked_at: ntime }),
  ApiKeyCreated: obj({ id: str, key: { ...str, description: 'shown once' }, role: str, name: str }),
  Revoked: obj({ id: str, revoked: bool }),
  HouseholdSummary: obj({ id: str, name: nstr, source_system: nstr, external_id: nstr, updated_at: time }),
  HouseholdMember: obj({ ...membership, given_name: nstr, family_name: nstr, email: nstr }),
  Membership: obj(membership),
  Household: obj({
    id: str,
    name: nstr,
    source_system: nstr,
    external_id: nstr,
    pool_balance: int,
    tier: nstr,
    members: arr(ref('HouseholdMember')),
    history: arr(ref('Membership')),
    created_at: time,
    updated_at: time,
  }),
  OptInResult: obj({
    customer_id: str,
    household_id: str,
    hierarchy_role: str,
    points_aggregation_opt_in: bool,
    changed: bool,
    writeback_job_id: nstr,
  }),
  PullSummary: obj({
    pull_id: str,
    connector: str,
    status: str,
    resumed: bool,
    pages: int,
    contacts: int,
    customers_created: int,
    households_created: int,
    members_changed: int,
  }),
  Pull: obj({
    id: str,
    connector: str,
    status: str,
    cursor: nstr,
    pages: int,
    contacts: int,
    customers_created: int,
    households_created: int,
    members_changed: int,
    error: nstr,
    started_at: time,
    updated_at: time,
    finished_at: ntime,
  }),
  LedgerEntry: ledgerEntry,
  LedgerResult: obj(
    { entry: ref('LedgerEntry'), balance: int, replayed: bool, manual_adjustment_rate: ref('AdjustmentRate') },
    ['entry', 'balance', 'replayed'],
  ),
  LedgerPage: page('LedgerEntry', {
    account_id: str,
    kind: { type: 'string', enum: ['household', 'customer'] },
    balance: int,
  }),
  AdjustmentRate: obj({ adjustments: int, entries: int, rate: num, threshold: num, alert: bool }),
  Enrichment: obj({
    customer_id: str,
    household_id: nstr,
    hierarchy_role: nstr,
    points_aggregation_opt_in: bool,
    tier: nstr,
    account_id: str,
    balance: int,
    order: { type: ['object', 'null'], additionalProperties: true },
  }),
  ScoreLine: scoreLine,
  ReconcileRun: run,
  Finding: finding,
  Scorecard: {
    'x-not-a-list': true,
    ...obj({
      data: arr(
        obj({
          system: str,
          field: str,
          ...tally,
          drift_rate: num,
          format_only_rate: num,
          run_id: str,
          computed_at: time,
        }),
      ),
      history: arr(
        obj({ run_id: str, system: str, field: str, compared: int, drifted: int, drift_rate: num, computed_at: time }),
      ),
    }),
  },
  ReviewItem: obj({
    id: str,
    kind: { type: 'string', enum: ['match', 'household_suggestion', 'address_quarantine', 'system_duplicate'] },
    status: { type: 'string', enum: ['pending', 'linked', 'not_a_match'] },
    score: { type: ['number', 'null'] },
    customers: arr(customerWithRecords),
    explanation: { ...any, description: 'why: per-field comparison weights, or the household suggestion reasons' },
    source_system: nstr,
    event_id: nstr,
    merge_id: nstr,
    decided_by: nstr,
    decided_at: ntime,
    created_at: time,
  }),
  UnmergeResult: obj({
    unmerge_id: str,
    merge_id: str,
    kept_fields: arr(str),
    points_returned: int,
    customers: arr(ref('Customer')),
  }),
  Claims: obj({
    customer_id: str,
    household_id: nstr,
    hierarchy_role: { ...nstr, description: 'head or member' },
    points_aggregation_opt_in: bool,
    tier: nstr,
  }),
  WebhookAck: obj({ accepted: int, duplicates: int }),
  ...GOVERNANCE_COMPONENTS,
};

/** Registers every component with its `$id`, so routes refer to them and the document lists them. */
export function addSharedSchemas(app: FastifyInstance): void {
  for (const [name, schema] of Object.entries(COMPONENTS)) app.addSchema({ $id: name, title: name, ...schema });
}

const STATUS_CODES = new Map<number, ErrorCode[]>();
for (const [code, v] of Object.entries(ERROR_CODES)) {
  STATUS_CODES.set(v.status, [...(STATUS_CODES.get(v.status) ?? []), code as ErrorCode]);
}

/** The error responses of `codes`, one entry per status, each the error envelope with what the codes mean. */
export function errorResponses(codes: readonly ErrorCode[]): Record<number, Json> {
  const out: Record<number, Json> = {};
  for (const code of new Set(codes)) {
    const status = ERROR_CODES[code].status;
    const doc = `\`${code}\`: ${ERROR_CODES[code].doc}`;
    const prev = out[status]?.description as string | undefined;
    out[status] = { description: prev ? `${prev} ${doc}` : doc, ...ref('ErrorEnvelope') };
  }
  return out;
}

export interface OpSpec {
  summary: string;
  tags: string[];
  params?: Json;
  querystring?: Json;
  body?: Json;
  /** The success answer: a component name, or a schema. */
  ok: string | Json;
  status?: 200 | 201 | 202;
  /** Error codes beyond those implied (auth, bad input, not_found for a path id, internal). */
  errors?: ErrorCode[];
  /** No API key (webhooks). */
  public?: boolean;
  /** A role below admin can be refused (`requireRole`). */
  role?: boolean;
  /** More success statuses with the same body (e.g. 200 on an idempotent replay of a 201). */
  alsoOk?: number[];
}

/** A route's full schema: request schemas, the success answer and the error envelope per code it can answer. */
export function op(spec: OpSpec): FastifySchema {
  const ok = typeof spec.ok === 'string' ? ref(spec.ok) : spec.ok;
  const codes: ErrorCode[] = ['internal', ...(spec.errors ?? [])];
  if (!spec.public) codes.push('unauthorized');
  if (spec.role) codes.push('forbidden');
  if (spec.params || spec.querystring || spec.body) codes.push('bad_request');
  if (spec.params) codes.push('not_found');
  const response: Record<number, Json> = { [spec.status ?? 200]: ok, ...errorResponses(codes) };
  for (const s of spec.alsoOk ?? []) response[s] = ok;
  return {
    summary: spec.summary,
    tags: spec.tags,
    ...(spec.params ? { params: spec.params } : {}),
    ...(spec.querystring ? { querystring: spec.querystring } : {}),
    ...(spec.body ? { body: spec.body } : {}),
    ...(spec.public ? { security: [] } : {}),
    response,
  };
}

/**
 * Response serializer: plain `JSON.stringify` (a schema documents the answer; it never drops or
 * coerces a field). With `strict` (the tests) each answer is first checked against its schema and a
 * mismatch is a 500, so the document cannot drift from what the routes send.
 */
export function responseSerializer(strict: boolean, scopeSchemas: Record<string, unknown> = {}) {
  const ajv = strict ? new Ajv({ strict: false, allErrors: false }) : null;
  if (ajv) {
    ajv.addFormat('date-time', true);
    for (const [name, schema] of Object.entries(COMPONENTS)) ajv.addSchema({ $id: name, ...schema });
    // Components a route file added to its scope (app.addSchema), by their $id.
    for (const schema of Object.values(scopeSchemas) as { $id?: string }[])
      if (schema.$id && !ajv.getSchema(schema.$id)) ajv.addSchema(schema);
  }
  return ({ schema, url, httpStatus }: { schema?: unknown; url: string; httpStatus?: string }) => {
    const check: ValidateFunction | null = ajv && schema ? ajv.compile(schema as object) : null;
    return (data: unknown): string => {
      if (check && !check(data))
        throw new HearthError(
          'internal',
          `response ${httpStatus ?? ''} of ${url} does not match its schema: ${ajv!.errorsText(check.errors)}`,
        );
      return JSON.stringify(data);
    };
  };
}
