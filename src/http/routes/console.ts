import type { FastifyInstance } from 'fastify';
import { ADDRESS_COLUMNS } from '../../canonical/customer.ts';
import { OWNED_FIELDS, type OwnedField } from '../../canonical/fields.ts';
import { changeHistory, getCustomerRow } from '../../customers/customer-store.ts';
import { HearthError } from '../../errors.ts';
import type { AppDeps } from '../deps.ts';
import { idParam, op } from '../schemas.ts';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const nstr = { type: ['string', 'null'] } as const;
const ntime = { type: ['string', 'null'], format: 'date-time' } as const;

const fieldsResponse = {
  type: 'object',
  'x-not-a-list': true,
  required: ['customer_id', 'data'],
  properties: {
    customer_id: { type: 'string' },
    data: {
      type: 'array',
      items: {
        type: 'object',
        required: ['field', 'value', 'owner', 'precedence', 'set_by', 'changed_at', 'changed_by'],
        properties: {
          field: { type: 'string', enum: [...OWNED_FIELDS] },
          value: nstr,
          owner: { ...nstr, description: 'the source of highest precedence for this field (ownership policy)' },
          precedence: {
            type: 'array',
            items: { type: 'string' },
            description: 'sources allowed to set it, highest first',
          },
          set_by: { ...nstr, description: 'the source that set the current value' },
          changed_at: { ...ntime, description: 'when the field last changed' },
          changed_by: { ...nstr, description: 'source (and actor) of that change' },
        },
      },
    },
  },
} as const;

/** Lag buckets (upper bounds, seconds) of the write-back histogram; the last bucket is open. */
const LAG_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 900, 3600];

const lagResponse = {
  type: 'object',
  'x-not-a-list': true,
  required: ['kind', 'sync_window_seconds', 'since', 'bucket_seconds', 'histogram', 'data', 'open_past_window', 'dead'],
  properties: {
    kind: { type: 'string', description: 'the job kind measured (address write-backs to the CRM)' },
    sync_window_seconds: { type: 'number' },
    since: { type: 'string', format: 'date-time' },
    bucket_seconds: { type: 'integer' },
    histogram: {
      type: 'array',
      items: {
        type: 'object',
        required: ['le_seconds', 'count'],
        properties: {
          le_seconds: { type: ['number', 'null'], description: 'upper bound; null: above' },
          count: { type: 'integer' },
        },
      },
    },
    data: {
      type: 'array',
      description: 'per time bucket (by correction time): write-backs done, and how many within the sync window',
      items: {
        type: 'object',
        required: ['at', 'done', 'within_window', 'ratio', 'max_lag_seconds'],
        properties: {
          at: { type: 'string', format: 'date-time' },
          done: { type: 'integer' },
          within_window: { type: 'integer' },
          ratio: { type: ['number', 'null'], description: 'within_window / done; null when none done' },
          max_lag_seconds: { type: ['number', 'null'] },
        },
      },
    },
    open_past_window: { type: 'integer', description: 'not done yet, and older than the sync window' },
    dead: { type: 'integer' },
  },
} as const;

function addConsoleSchemas(app: FastifyInstance): void {
  app.addSchema({ $id: 'CustomerFields', title: 'CustomerFields', ...fieldsResponse });
  app.addSchema({ $id: 'WritebackLag', title: 'WritebackLag', ...lagResponse });
}

type Row = NonNullable<Awaited<ReturnType<typeof getCustomerRow>>>;

function valueOf(row: Row, field: OwnedField): string | null {
  if (field !== 'address') return row[field];
  const parts = [row.address_line1, row.address_line2, row.city, row.region, row.postal_code, row.country];
  return row.address_line1 ? parts.filter(Boolean).join(', ') : null;
}

/**
 * What the console needs beyond the resource routes: who owns each field of a customer and when it
 * last changed; the write-back lag as a histogram and the sync-window SLO over time.
 */
export function registerConsoleRoutes(app: FastifyInstance, deps: AppDeps): void {
  const db = deps.hdb.db;
  const now = deps.now ?? Date.now;
  addConsoleSchemas(app);
  app.get<{ Params: { id: string } }>(
    '/customers/:id/fields',
    {
      schema: op({
        summary:
          'Per field of a customer: value, owner under the ownership policy, who set it and when it last changed',
        tags: ['customers'],
        params: idParam,
        ok: 'CustomerFields',
      }),
    },
    async (req) => {
      const row = await getCustomerRow(db, req.params.id);
      if (!row) throw new HearthError('not_found', `customer ${req.params.id} not found`);
      const sources = JSON.parse(row.field_sources || '{}') as Partial<Record<OwnedField, string>>;
      const changes = await changeHistory(db, row.id);
      const address = new Set<string>(ADDRESS_COLUMNS);
      const data = OWNED_FIELDS.map((field) => {
        // Newest first: the first change of this field is the last one made.
        const last = changes.find((c) => (field === 'address' ? address.has(c.field) : c.field === field));
        const precedence = deps.config.ownership[field] ?? [];
        return {
          field,
          value: valueOf(row, field),
          owner: precedence[0] ?? null,
          precedence,
          set_by: (field === 'address' ? (row.address_source ?? sources.address) : sources[field]) ?? null,
          changed_at: iso(last?.changed_at ?? null),
          changed_by: last ? [last.source_system, last.actor].filter(Boolean).join(' / ') || null : null,
        };
      });
      return { customer_id: row.id, data };
    },
  );
  app.get<{ Querystring: { hours: number; bucket_seconds: number } }>(
    '/writeback/lag',
    {
      schema: op({
        summary:
          'Address write-back lag (done_at − origin_at) as a histogram, and per time bucket the share done within ' +
          'the sync window (the SLO), over the last `hours`',
        tags: ['sync'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            hours: { type: 'integer', minimum: 1, maximum: 24 * 90, default: 24 },
            bucket_seconds: { type: 'integer', minimum: 60, maximum: 86_400 * 7, default: 3600 },
          },
        },
        ok: 'WritebackLag',
      }),
    },
    async (req) => {
      const t = now();
      const since = t - req.query.hours * 3_600_000;
      const windowS = deps.config.writeback.sync_window_seconds;
      const kind = 'crm.address_write';
      const [done, open] = await Promise.all([
        db
          .selectFrom('jobs')
          .select(['origin_at', 'done_at'])
          .where('kind', '=', kind)
          .where('status', '=', 'done')
          .where('done_at', '>=', since)
          .execute(),
        db
          .selectFrom('jobs')
          .select(['status', 'origin_at'])
          .where('kind', '=', kind)
          .where('status', 'in', ['pending', 'running', 'dead'])
          .execute(),
      ]);
      return {
        kind,
        sync_window_seconds: windowS,
        since: new Date(since).toISOString(),
        bucket_seconds: req.query.bucket_seconds,
        histogram: histogram(done.map((j) => (j.done_at! - j.origin_at) / 1000)),
        data: sloSeries(done, since, t, req.query.bucket_seconds * 1000, windowS),
        open_past_window: open.filter((j) => j.status !== 'dead' && j.origin_at < t - windowS * 1000).length,
        dead: open.filter((j) => j.status === 'dead').length,
      };
    },
  );
}

function histogram(lags: number[]): { le_seconds: number | null; count: number }[] {
  const out = [...LAG_BUCKETS, null].map((le) => ({ le_seconds: le, count: 0 }));
  for (const lag of lags) {
    const i = LAG_BUCKETS.findIndex((le) => lag <= le);
    out[i < 0 ? LAG_BUCKETS.length : i]!.count++;
  }
  return out;
}

function sloSeries(
  done: { origin_at: number; done_at: number | null }[],
  since: number,
  until: number,
  bucketMs: number,
  windowS: number,
) {
  const start = Math.floor(since / bucketMs) * bucketMs;
  const n = Math.min(2000, Math.ceil((until - start) / bucketMs));
  const rows = Array.from({ length: n }, (_, i) => ({ at: start + i * bucketMs, done: 0, within: 0, max: 0 }));
  for (const j of done) {
    const i = Math.min(n - 1, Math.floor((j.done_at! - start) / bucketMs));
    const lag = (j.done_at! - j.origin_at) / 1000;
    const r = rows[i]!;
    r.done++;
    if (lag <= windowS) r.within++;
    r.max = Math.max(r.max, lag);
  }
  return rows.map((r) => ({
    at: new Date(r.at).toISOString(),
    done: r.done,
    within_window: r.within,
    ratio: r.done ? r.within / r.done : null,
    max_lag_seconds: r.done ? r.max : null,
  }));
}
