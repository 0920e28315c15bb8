import type { FastifyInstance } from 'fastify';
import { runErasure } from '../../flows/erasure.ts';
import {
  decideHold,
  erasureReport,
  listErasures,
  retryErasure,
  type ErasureReport,
} from '../../governance/erasure-report.ts';
import type { ErasureHoldsTable } from '../../db/schema.ts';
import { listDisclosures, type Disclosure } from '../../governance/disclosures.ts';
import { requireRole } from '../auth.ts';
import type { AppDeps } from '../deps.ts';
import { idParam, op, page, pageOf, pageQuery } from '../schemas.ts';

const str = { type: 'string' } as const;
const nstr = { type: ['string', 'null'] } as const;
const int = { type: 'integer' } as const;
const time = { type: 'string', format: 'date-time' } as const;
const ntime = { type: ['string', 'null'], format: 'date-time' } as const;
const obj = (properties: Record<string, unknown>) => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
});

const hold = obj({
  id: str,
  erasure_id: str,
  event_id: { ...str, description: 'the inbox event held (GET /v1/events)' },
  connector: str,
  matched: { ...str, description: 'which identifier matched the tombstone: email, phone or source' },
  status: { type: 'string', enum: ['held', 'released', 'dismissed'] },
  decided_by: nstr,
  decided_at: ntime,
  created_at: time,
});

const report = obj({
  id: str,
  customer_id: str,
  actor: str,
  created_at: time,
  status: { type: 'string', enum: ['open', 'done'], description: 'open until every system confirmed' },
  removed: { type: 'object', additionalProperties: int, description: 'rows removed or blanked, per table' },
  systems: {
    type: 'array',
    items: obj({
      system: str,
      status: { type: 'string', enum: ['pending', 'done', 'failed', 'shadowed', 'skipped'] },
      job_id: nstr,
      attempts: int,
      error: { ...nstr, description: 'the system’s last refusal' },
      note: nstr,
      updated_at: ntime,
    }),
  },
  holds: { type: 'array', items: hold },
});

const disclosure = obj({
  job_id: { ...str, description: 'the delivered job (GET /v1/jobs/:id)' },
  customer_id: nstr,
  system: str,
  target: str,
  kind: str,
  fields: {
    type: 'array',
    items: str,
    description: 'the person fields (and IdP claims) the job carried, after data minimisation; names only',
  },
  delivered_at: time,
});

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

function holdView(h: ErasureHoldsTable) {
  return { ...h, decided_at: iso(h.decided_at), created_at: iso(h.created_at)! };
}

function reportView(r: ErasureReport) {
  return {
    ...r,
    created_at: iso(r.created_at)!,
    systems: r.systems.map((s) => ({ ...s, updated_at: iso(s.updated_at) })),
    holds: r.holds.map(holdView),
  };
}

/** Erasure: delete a person (admin), the per-system confirmation report, retries, and held returning webhooks. */
export function registerErasureRoutes(app: FastifyInstance, deps: AppDeps): void {
  const db = deps.hdb.db;
  const now = deps.now ?? Date.now;
  app.addSchema({ $id: 'ErasureReport', title: 'ErasureReport', ...report });
  app.addSchema({ $id: 'ErasureHold', title: 'ErasureHold', ...hold });
  app.addSchema({ $id: 'Disclosure', title: 'Disclosure', ...disclosure });

  app.get<{ Querystring: { limit: number; after?: string; customer_id?: string; system?: string } }>(
    '/disclosures',
    {
      schema: op({
        summary:
          'Which fields went to which system: one row per delivered job that carried person fields, newest first ' +
          '(the audit of data minimisation)',
        tags: ['governance'],
        querystring: pageQuery({
          customer_id: { type: 'string', minLength: 1 },
          system: { type: 'string', minLength: 1 },
        }),
        ok: page('Disclosure'),
      }),
    },
    async (req) =>
      pageOf(
        await listDisclosures(db, req.query),
        req.query.limit,
        (d: Disclosure) => ({ ...d, delivered_at: iso(d.delivered_at)! }),
        (d) => d.job_id,
      ),
  );

  app.delete<{ Params: { id: string } }>(
    '/customers/:id',
    {
      schema: op({
        summary:
          'Erase a customer (admin): its data here is removed or blanked, a tombstone of keyed hashes stays, ' +
          'and one erasure job per connected system that supports it is queued, in one transaction',
        tags: ['governance'],
        params: idParam,
        ok: 'ErasureReport',
        role: true,
      }),
    },
    async (req) => {
      requireRole(req.principal!, 'admin');
      const out = await runErasure(deps.hdb, deps.config, req.params.id, req.principal!.key_id, now());
      req.log.info({ erasure_id: out.id, systems: out.systems.length, removed: out.removed }, 'customer erased');
      deps.onEventsStored?.();
      return reportView(await erasureReport(db, out.id));
    },
  );

  app.get<{ Querystring: { limit: number; after?: string } }>(
    '/erasures',
    {
      schema: op({
        summary: 'Erasures, newest first, each with its per-system status',
        tags: ['governance'],
        querystring: pageQuery(),
        ok: page('ErasureReport'),
      }),
    },
    async (req) =>
      pageOf(await listErasures(db, req.query.limit, req.query.after), req.query.limit, reportView, (r) => r.id),
  );

  app.get<{ Params: { id: string } }>(
    '/erasures/:id',
    {
      schema: op({
        summary: 'One erasure: per system pending, done or failed (with the error), and webhooks held since',
        tags: ['governance'],
        params: idParam,
        ok: 'ErasureReport',
      }),
    },
    async (req) => reportView(await erasureReport(db, req.params.id)),
  );

  app.post<{ Params: { id: string } }>(
    '/erasures/:id/retry',
    {
      schema: op({
        summary: 'Re-drive the erasure jobs that systems refused (admin)',
        tags: ['governance'],
        params: idParam,
        ok: 'ErasureReport',
        role: true,
      }),
    },
    async (req) => {
      requireRole(req.principal!, 'admin');
      if ((await retryErasure(db, req.params.id, now())) > 0) deps.onEventsStored?.();
      return reportView(await erasureReport(db, req.params.id));
    },
  );

  app.post<{ Params: { id: string }; Body: { decision: 'release' | 'dismiss' } }>(
    '/erasures/holds/:id',
    {
      schema: op({
        summary:
          'Decide a webhook held because it named an erased person (admin): release applies it as new, ' +
          'dismiss blanks it',
        tags: ['governance'],
        params: idParam,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['decision'],
          properties: { decision: { type: 'string', enum: ['release', 'dismiss'] } },
        },
        ok: 'ErasureHold',
        role: true,
        errors: ['conflict'],
      }),
    },
    async (req) => {
      requireRole(req.principal!, 'admin');
      const h = await decideHold(db, req.params.id, req.body.decision, req.principal!.key_id, now());
      if (h.status === 'released') deps.onInboxStored?.();
      return holdView(h);
    },
  );
}
