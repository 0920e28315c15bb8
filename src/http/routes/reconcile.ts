import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { OWNED_FIELDS } from '../../canonical/fields.ts';
import type { Database, DriftFindingsTable, DriftKind, DriftStatus, ReconcileRunsTable } from '../../db/schema.ts';
import { HearthError } from '../../errors.ts';
import { rate, scorecard, scoreLine, type RunStats } from '../../reconcile/scorecard.ts';
import {
  createReconcileRunner,
  createRun,
  decideOnFinding,
  executeRun,
  getRun,
  refreshDriftGauges,
  resumeRun,
  type FindingAction,
  type ReconcileDeps,
} from '../../flows/reconcile-run.ts';
import type { AppDeps } from '../deps.ts';
import { reconcilableNames } from '../../connectors/registry.ts';
import { requireRole } from '../auth.ts';
import { idParam, op, page, pageOf, pageQuery } from '../schemas.ts';

const STATUSES: DriftStatus[] = ['open', 'healing', 'reported', 'ignored', 'dismissed', 'superseded'];
const KINDS: DriftKind[] = ['drift', 'format_only'];
/** Answer when the run has finished instead of at once (202). */
const wait = { type: 'boolean', default: false } as const;
const runBody = (systems: string[]) =>
  ({
    type: 'object',
    additionalProperties: false,
    properties: {
      systems: { type: 'array', items: { type: 'string', enum: systems }, minItems: 1, uniqueItems: true },
      wait,
    },
  }) as const;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function runView(r: ReconcileRunsTable) {
  return {
    id: r.id,
    status: r.status,
    trigger: r.trigger,
    actor: r.actor,
    systems: JSON.parse(r.systems) as string[],
    /** Where the run resumes: the system being pulled and the saved cursor of its next page. */
    position: r.system ? { system: r.system, cursor: r.cursor } : null,
    pages: r.pages,
    records: r.records,
    matched: r.matched,
    unmatched: r.unmatched,
    findings: r.findings,
    jobs: r.jobs,
    error: r.error,
    started_at: iso(r.started_at),
    updated_at: iso(r.updated_at),
    finished_at: iso(r.finished_at),
    scorecard: scorecard(JSON.parse(r.stats) as RunStats),
  };
}

export function findingView(f: DriftFindingsTable) {
  return {
    id: f.id,
    run_id: f.run_id,
    system: f.system,
    external_id: f.external_id,
    customer_id: f.customer_id,
    field: f.field,
    kind: f.kind,
    policy: f.policy,
    status: f.status,
    canonical_value: f.canonical_value,
    system_value: f.system_value,
    detail: f.detail ? (JSON.parse(f.detail) as unknown) : null,
    job_id: f.job_id,
    decided_by: f.decided_by,
    decided_at: iso(f.decided_at),
    created_at: iso(f.created_at),
  };
}

/** Live reconciliation: runs, findings (with operator decisions) and the drift scorecard. */
export function registerReconcileRoutes(app: FastifyInstance, deps: AppDeps): void {
  const rdeps: ReconcileDeps = {
    hdb: deps.hdb,
    connectors: deps.connectors,
    config: deps.config,
    now: deps.now,
    metrics: deps.metrics,
    logger: deps.logger,
    onJobsQueued: deps.onEventsStored,
  };
  const runner = createReconcileRunner(rdeps);
  const db = deps.hdb.db;
  const systems = reconcilableNames(deps.config.descriptors);
  app.addHook('onClose', () => runner.close());
  app.addHook('onReady', () => refreshDriftGauges(db, deps.metrics));

  app.post<{ Body: { systems?: string[]; wait: boolean } }>(
    '/reconcile/runs',
    {
      schema: op({
        summary: 'Start a reconciliation run (operator); 202 at once, or 200 when finished with `wait: true`',
        tags: ['reconcile'],
        body: runBody(systems),
        ok: 'ReconcileRun',
        status: 202,
        alsoOk: [200],
        role: true,
        errors: ['conflict', 'connector_error'],
      }),
    },
    async (req, reply) => {
      requireRole(req.principal!, 'operator');
      const o = { systems: req.body?.systems, trigger: 'api', actor: req.principal!.key_id };
      if (!req.body?.wait) return reply.status(202).send(runView(await runner.start(o)));
      return runView(await executeRun(rdeps, (await createRun(rdeps, o)).id));
    },
  );
  app.post<{ Params: { id: string }; Body: { wait: boolean } }>(
    '/reconcile/runs/:id/resume',
    {
      schema: op({
        summary: 'Resume a paused, failed or abandoned run from its saved cursor (operator)',
        tags: ['reconcile'],
        params: idParam,
        body: { type: 'object', additionalProperties: false, properties: { wait } },
        ok: 'ReconcileRun',
        status: 202,
        alsoOk: [200],
        role: true,
        errors: ['conflict', 'connector_error'],
      }),
    },
    async (req, reply) => {
      requireRole(req.principal!, 'operator');
      if (!req.body?.wait) return reply.status(202).send(runView(await runner.resume(req.params.id)));
      return runView(await executeRun(rdeps, (await resumeRun(rdeps, req.params.id)).id));
    },
  );
  app.get<{ Querystring: { limit: number; after?: string } }>(
    '/reconcile/runs',
    {
      schema: op({
        summary: 'Recent reconciliation runs, newest first',
        tags: ['reconcile'],
        querystring: pageQuery(),
        ok: page('ReconcileRun'),
      }),
    },
    async (req) => {
      let q = db.selectFrom('reconcile_runs').selectAll().orderBy('id', 'desc').limit(req.query.limit);
      if (req.query.after) q = q.where('id', '<', req.query.after);
      return pageOf(await q.execute(), req.query.limit, runView, (r) => r.id);
    },
  );
  app.get<{ Params: { id: string } }>(
    '/reconcile/runs/:id',
    {
      schema: op({
        summary: 'One run: progress, counts and its scorecard',
        tags: ['reconcile'],
        params: idParam,
        ok: 'ReconcileRun',
      }),
    },
    async (req) => {
      const run = await getRun(db, req.params.id);
      if (!run) throw new HearthError('not_found', `reconciliation run ${req.params.id} not found`);
      return runView(run);
    },
  );
  registerFindingRoutes(app, rdeps, systems);
  app.get<{ Querystring: { history: number } }>(
    '/reconcile/scorecard',
    {
      schema: op({
        summary: 'Drift per system and field: the latest finished run, and the rate over recent runs',
        tags: ['reconcile'],
        querystring: {
          type: 'object',
          properties: { history: { type: 'integer', minimum: 1, maximum: 100, default: 10 } },
        },
        ok: 'Scorecard',
      }),
    },
    async (req) => scorecardView(db, req.query.history),
  );
}

interface FindingQuery {
  system?: string;
  field?: string;
  status?: DriftStatus;
  kind?: DriftKind;
  run_id?: string;
  customer_id?: string;
  after?: string;
  limit: number;
}

function registerFindingRoutes(app: FastifyInstance, rdeps: ReconcileDeps, systems: string[]): void {
  const db = rdeps.hdb.db;
  const querystring = pageQuery({
    system: { type: 'string', enum: systems },
    field: { type: 'string', enum: [...OWNED_FIELDS] },
    status: { type: 'string', enum: STATUSES },
    kind: { type: 'string', enum: KINDS },
    run_id: { type: 'string' },
    customer_id: { type: 'string' },
  });
  app.get<{ Querystring: FindingQuery }>(
    '/reconcile/findings',
    {
      schema: op({
        summary: 'Drift findings by system, field, status, kind or run (oldest first; page with `after`)',
        tags: ['reconcile'],
        querystring,
        ok: page('Finding'),
      }),
    },
    async (req) => {
      const q = req.query;
      let sel = db.selectFrom('drift_findings').selectAll().orderBy('id').limit(q.limit);
      if (q.system) sel = sel.where('system', '=', q.system);
      if (q.field) sel = sel.where('field', '=', q.field);
      if (q.status) sel = sel.where('status', '=', q.status);
      if (q.kind) sel = sel.where('kind', '=', q.kind);
      if (q.run_id) sel = sel.where('run_id', '=', q.run_id);
      if (q.customer_id) sel = sel.where('customer_id', '=', q.customer_id);
      if (q.after) sel = sel.where('id', '>', q.after);
      const rows = await sel.execute();
      return pageOf(rows, q.limit, findingView, (r) => r.id);
    },
  );
  app.post<{ Params: { id: string }; Body: { action: FindingAction } }>(
    '/reconcile/findings/:id',
    {
      schema: op({
        summary: 'Decide an open finding (operator): heal (queue the corrective write) or dismiss',
        tags: ['reconcile'],
        params: idParam,
        ok: 'Finding',
        role: true,
        errors: ['conflict'],
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { action: { type: 'string', enum: ['heal', 'dismiss'] } },
          required: ['action'],
        },
      }),
    },
    async (req) => {
      requireRole(req.principal!, 'operator');
      return findingView(await decideOnFinding(rdeps, req.params.id, req.body.action, req.principal!.key_id));
    },
  );
}

/** The latest finished run's line per system and field, and each line's drift rate over the last `history` runs. */
async function scorecardView(db: Kysely<Database>, history: number) {
  const runs = await db
    .selectFrom('reconcile_runs')
    .select(['id', 'finished_at'])
    .where('status', '=', 'done')
    .orderBy('id', 'desc')
    .limit(history)
    .execute();
  if (runs.length === 0) return { data: [], history: [] };
  const rows = await db
    .selectFrom('reconcile_scores')
    .selectAll()
    .where(
      'run_id',
      'in',
      runs.map((r) => r.id),
    )
    .orderBy('run_id', 'desc')
    .orderBy('system')
    .orderBy('field')
    .execute();
  const latest = new Map<string, (typeof rows)[number]>();
  for (const r of rows) if (!latest.has(`${r.system}\u0000${r.field}`)) latest.set(`${r.system}\u0000${r.field}`, r);
  return {
    data: [...latest.values()].map((r) => ({
      ...scoreLine(r.system, r.field, r),
      run_id: r.run_id,
      computed_at: iso(r.computed_at),
    })),
    history: rows.map((r) => ({
      run_id: r.run_id,
      system: r.system,
      field: r.field,
      compared: r.compared,
      drifted: r.drifted,
      drift_rate: rate(r.drifted, r.compared),
      computed_at: iso(r.computed_at),
    })),
  };
}
