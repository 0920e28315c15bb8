import type { FastifyInstance } from 'fastify';
import { engineContext } from '../../flows/engine-context.ts';
import { changeFlag } from '../../flows/governance.ts';
import { describeSelector, listReverts, runRevert } from '../../flows/revert.ts';
import { decideQualityReview, listQualityReviews } from '../../flows/quality.ts';
import { flagChanges, listSetFlags } from '../../governance/flag-store.ts';
import { flagSpec, knownFlags } from '../../governance/flags.ts';
import { selectorProblem, type RevertSelector } from '../../governance/revert.ts';
import { eventSchemas } from '../../governance/event-schemas.ts';
import { heldShadowWrites } from '../../governance/shadow-store.ts';
import { shadowReport } from '../../governance/shadow.ts';
import type { QualityReviewsTable } from '../../db/schema.ts';
import { HearthError } from '../../errors.ts';
import { requireRole } from '../auth.ts';
import type { AppDeps } from '../deps.ts';
import { idParam, op, page, pageOf, pageQuery } from '../schemas.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const strArr = { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, maxItems: 1000 };
const date = { type: 'string', format: 'date-time' };

interface RevertBody {
  change?: string;
  event?: string;
  source?: string;
  customers?: string[];
  run?: string;
  since?: string;
  until?: string;
  dry_run: boolean;
  skip_conflicts?: boolean;
}

const revertBody = {
  type: 'object',
  additionalProperties: false,
  required: ['dry_run'],
  properties: {
    change: { type: 'string', minLength: 1, description: 'one field change (`<lineage id>.NN`, as `changes[].id`)' },
    event: { type: 'string', minLength: 1, description: 'every change of one event (an inbox event or a revert)' },
    source: { type: 'string', minLength: 1, description: 'every change one source wrote (with since/until)' },
    customers: { ...strArr, description: 'these customers’ changes in the window since..until' },
    run: { type: 'string', minLength: 1, description: 'the person-field heals a reconciliation run wrote' },
    since: date,
    until: date,
    dry_run: { type: 'boolean', description: 'true: list what would change, write nothing' },
    skip_conflicts: { type: 'boolean', description: 'revert the rest when some fields have newer changes' },
  },
};

/** Governance: revert, runtime flags, shadow-mode reports, quality review queue. */
export function registerGovernanceRoutes(app: FastifyInstance, deps: AppDeps): void {
  const db = deps.hdb.db;
  const now = deps.now ?? Date.now;
  const connectors = Object.keys(deps.config.connectors);
  const ctx = engineContext(deps.config, deps.connectors);

  app.post<{ Body: RevertBody }>(
    '/revert',
    {
      schema: op({
        summary:
          'Revert a change, an event, a run’s heals, a source or a window of customers as new changes ' +
          '(dry run: anyone; a change, event or run: operator; a source or window: admin). ' +
          'Conflicts with newer changes answer 409.',
        tags: ['governance'],
        body: revertBody,
        ok: 'RevertResult',
        role: true,
        errors: ['conflict', 'not_found'],
      }),
    },
    async (req) => {
      const b = req.body;
      const selector = toSelector(b);
      const narrow = 'change' in selector || 'event' in selector || 'run' in selector;
      if (!b.dry_run) requireRole(req.principal!, narrow ? 'operator' : 'admin');
      const result = await runRevert(
        db,
        ctx,
        selector,
        { dry_run: b.dry_run, skip_conflicts: b.skip_conflicts === true, actor: req.principal!.key_id },
        now(),
      );
      if (!b.dry_run && !result.applied && result.conflicts.length > 0)
        throw new HearthError(
          'conflict',
          `revert of ${describeSelector(selector)} stopped: ${result.conflicts.length} field(s) changed since by ` +
            `${[...new Set(result.conflicts.map((c) => c.newer.source_system))].join(', ')}; nothing was written`,
          { conflicts: result.conflicts, steps: result.steps },
        );
      deps.onEventsStored?.();
      return result;
    },
  );

  app.get<{ Querystring: { limit: number; after?: string } }>(
    '/reverts',
    {
      schema: op({
        summary: 'Reverts run, newest first',
        tags: ['governance'],
        querystring: pageQuery(),
        ok: page('RevertRecord'),
      }),
    },
    async (req) => {
      const rows = await listReverts(db, req.query.limit, req.query.after);
      return pageOf(
        rows,
        req.query.limit,
        (r) => ({
          id: r.id,
          selector: JSON.parse(r.selector) as Record<string, unknown>,
          actor: r.actor,
          changes: r.changes,
          customers: r.customers,
          skipped: JSON.parse(r.skipped) as unknown[],
          created_at: iso(r.created_at)!,
        }),
        (r) => r.id,
      );
    },
  );

  app.get(
    '/flags',
    {
      schema: op({
        summary: 'Runtime flags: value in force, default and allowed values',
        tags: ['governance'],
        ok: 'FlagList',
      }),
    },
    async () => {
      const set = new Map((await listSetFlags(db)).map((r) => [r.name, r]));
      return {
        data: knownFlags(connectors).map((name) => {
          const spec = flagSpec(name, connectors)!;
          const row = set.get(name);
          return {
            name,
            value: row?.value ?? spec.default,
            default: spec.default,
            values: [...spec.values],
            about: spec.about,
            updated_by: row?.updated_by ?? null,
            updated_at: iso(row?.updated_at ?? null),
          };
        }),
      };
    },
  );

  app.put<{ Params: { id: string }; Body: { value: string; reason?: string } }>(
    '/flags/:id',
    {
      schema: op({
        summary: 'Set a runtime flag (admin); audit-logged; every process applies it from its next batch',
        tags: ['governance'],
        params: idParam,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['value'],
          properties: { value: { type: 'string', minLength: 1 }, reason: { type: 'string', maxLength: 500 } },
        },
        ok: 'FlagSetResult',
        role: true,
      }),
    },
    async (req) => {
      requireRole(req.principal!, 'admin');
      if (!flagSpec(req.params.id, connectors)) throw new HearthError('not_found', `no flag ${req.params.id}`);
      const r = await changeFlag(
        db,
        connectors,
        req.params.id,
        req.body.value,
        req.principal!.key_id,
        now(),
        req.body.reason ?? null,
      );
      if (r.released?.sent) deps.onEventsStored?.();
      return { name: req.params.id, value: req.body.value, changed: r.change !== null, released: r.released };
    },
  );

  app.get<{ Querystring: { limit: number; after?: string } }>(
    '/flags/changes',
    {
      schema: op({
        summary: 'Who changed which flag, when, from and to what; newest first',
        tags: ['governance'],
        querystring: pageQuery(),
        ok: page('FlagChange'),
      }),
    },
    async (req) => {
      const rows = await flagChanges(db, req.query.limit, req.query.after);
      return pageOf(
        rows,
        req.query.limit,
        (r) => ({
          id: r.id,
          name: r.name,
          from: r.from_value,
          to: r.to_value,
          actor: r.actor,
          reason: r.reason,
          changed_at: iso(r.changed_at)!,
        }),
        (r) => r.id,
      );
    },
  );

  app.get(
    '/schemas',
    {
      schema: op({
        summary: 'JSON Schemas of the webhook events Hearth sends (type, version, schema)',
        tags: ['governance'],
        ok: 'EventSchemas',
      }),
    },
    async () => ({ data: eventSchemas() }),
  );

  app.get<{ Querystring: { connector?: string } }>(
    '/shadow/report',
    {
      schema: op({
        summary: 'Shadow mode: per system, what the held writes would change ("N contacts would get a new address")',
        tags: ['governance'],
        querystring: { type: 'object', additionalProperties: false, properties: { connector: { type: 'string' } } },
        ok: 'ShadowReports',
      }),
    },
    async (req) => {
      const rows = await heldShadowWrites(db, req.query.connector ?? null);
      return {
        data: shadowReport(rows.map((r) => ({ ...r, fields: JSON.parse(r.fields) as string[] }))),
      };
    },
  );

  app.get<{ Querystring: { connector?: string; limit: number; after?: string } }>(
    '/shadow/writes',
    {
      schema: op({
        summary: 'Shadow mode: each write held, with the payload the connector would have been handed',
        tags: ['governance'],
        querystring: pageQuery({ connector: { type: 'string' } }),
        ok: page('ShadowWrite'),
      }),
    },
    async (req) => {
      const rows = (await heldShadowWrites(db, req.query.connector ?? null)).filter(
        (r) => !req.query.after || r.id > req.query.after,
      );
      return pageOf(
        rows.slice(0, req.query.limit),
        req.query.limit,
        (r) => ({
          id: r.id,
          job_id: r.job_id,
          target: r.target,
          kind: r.kind,
          key: r.job_key,
          customer_id: r.customer_id,
          fields: JSON.parse(r.fields) as string[],
          payload: JSON.parse(r.payload) as unknown,
          created_at: iso(r.created_at)!,
        }),
        (r) => r.id,
      );
    },
  );

  app.get<{ Querystring: { status?: 'open' | 'approved' | 'rejected'; limit: number; after?: string } }>(
    '/quality/reviews',
    {
      schema: op({
        summary: 'Changes a quality rule held for review, with the rule and both values; newest first',
        tags: ['governance'],
        querystring: pageQuery({ status: { type: 'string', enum: ['open', 'approved', 'rejected'] } }),
        ok: page('QualityReview'),
      }),
    },
    async (req) => {
      const rows = await listQualityReviews(db, req.query.status, req.query.limit, req.query.after);
      return pageOf(rows, req.query.limit, qualityView, (r) => r.id);
    },
  );

  app.post<{ Params: { id: string }; Body: { decision: 'approve' | 'reject' } }>(
    '/quality/reviews/:id',
    {
      schema: op({
        summary: 'Approve (apply the held value as a new change) or reject a quality review (operator)',
        tags: ['governance'],
        params: idParam,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['decision'],
          properties: { decision: { type: 'string', enum: ['approve', 'reject'] } },
        },
        ok: 'QualityReview',
        role: true,
        errors: ['conflict'],
      }),
    },
    async (req) => {
      requireRole(req.principal!, 'operator');
      const row = await decideQualityReview(db, ctx, req.params.id, req.body.decision, req.principal!.key_id, now());
      deps.onEventsStored?.();
      return qualityView(row);
    },
  );
}

function qualityView(r: QualityReviewsTable) {
  return {
    id: r.id,
    customer_id: r.customer_id,
    source_system: r.source_system,
    event_id: r.event_id,
    field: r.field,
    rule: r.rule,
    reason: r.reason,
    old_value: r.old_value,
    new_value: r.new_value,
    status: r.status,
    decided_by: r.decided_by,
    decided_at: iso(r.decided_at),
    created_at: iso(r.created_at)!,
  };
}

/** The request body as a selector; a malformed one is a 400 naming the problem. */
function toSelector(b: RevertBody): RevertSelector {
  const since = b.since ? Date.parse(b.since) : undefined;
  const until = b.until ? Date.parse(b.until) : undefined;
  if (Number.isNaN(since) || Number.isNaN(until))
    throw new HearthError('bad_request', 'revert: since/until must be ISO times');
  const problem = selectorProblem({ ...b, since, until });
  if (problem) throw new HearthError('bad_request', `revert: ${problem}`);
  if (b.run) return { run: b.run };
  if (b.change) return { change: b.change };
  if (b.event) return { event: b.event };
  if (b.source) return { source: b.source, since, until };
  return { customers: b.customers!, since: since!, until };
}
