import { type LoyaltySettings } from '../../loyalty/settings.ts';
import { loyaltySettings } from '../../config/derive.ts';
import type { FastifyInstance } from 'fastify';
import { changeHistory, getCustomerRow, listLinks } from '../../customers/customer-store.ts';
import { toCustomer } from '../../canonical/customer.ts';
import { searchCustomers, type CustomerSearch } from '../../customers/search.ts';
import type { ApiRole, JobStatus } from '../../db/schema.ts';
import { HearthError } from '../../errors.ts';
import { membershipAt } from '../../households/membership-store.ts';
import { balanceOf } from '../../loyalty/ledger-store.ts';
import { tierOf } from '../../loyalty/tier-store.ts';
import { getJob, lateWritebacks, listJobs, requeueJob } from '../../engine/jobs.ts';
import { createApiKey, requireRole, ROLES } from '../auth.ts';
import { registerIdentityRoutes } from './identity.ts';
import { registerIdentityClaimsRoutes } from './identity-claims.ts';
import type { AppDeps } from '../deps.ts';
import { registerBillingRoutes } from './billing.ts';
import { registerHouseholdRoutes } from './households.ts';
import { registerLoyaltyRoutes } from './loyalty.ts';
import { changeView, eventView, jobView, linkView } from '../views.ts';
import { registerReconcileRoutes } from './reconcile.ts';
import { idParam, op, page, pageOf, pageQuery } from '../schemas.ts';
import { registerConnectorRoutes } from './connectors.ts';
import { registerGovernanceRoutes } from './governance.ts';
import { registerErasureRoutes } from './erasures.ts';
import { registerConsoleRoutes } from './console.ts';

const JOB_STATUSES: JobStatus[] = ['pending', 'running', 'done', 'dead', 'superseded', 'shadow'];
type CustomerQuery = CustomerSearch;

export function registerApiRoutes(app: FastifyInstance, deps: AppDeps): void {
  registerCustomerRoutes(app, deps);
  registerJobRoutes(app, deps);
  registerKeyRoutes(app, deps);
  registerHouseholdRoutes(app, deps);
  registerLoyaltyRoutes(app, deps);
  registerReconcileRoutes(app, deps);
  registerIdentityRoutes(app, deps);
  registerIdentityClaimsRoutes(app, deps);
  registerBillingRoutes(app, deps);
  registerConnectorRoutes(app, deps);
  registerGovernanceRoutes(app, deps);
  registerErasureRoutes(app, deps);
  registerConsoleRoutes(app, deps);
}

function registerCustomerRoutes(app: FastifyInstance, deps: AppDeps): void {
  const db = deps.hdb.db;
  const loyalty = loyaltySettings(deps.config);
  app.get<{ Params: { id: string } }>(
    '/customers/:id',
    {
      schema: op({
        summary: 'A customer with its source records (crosswalk), change history, jobs, household, tier and points',
        tags: ['customers'],
        params: idParam,
        ok: 'CustomerDetail',
      }),
    },
    async (req) => {
      const row = await getCustomerRow(db, req.params.id);
      if (!row) throw new HearthError('not_found', `customer ${req.params.id} not found`);
      const [links, changes, jobs, household] = await Promise.all([
        listLinks(db, row.id),
        changeHistory(db, row.id),
        listJobs(db, { customer_id: row.id, limit: 50 }),
        loyaltyView(db, row.id, (deps.now ?? Date.now)(), loyalty),
      ]);
      return {
        ...toCustomer(row),
        ...household,
        source_records: links.map(linkView),
        changes: changes.map(changeView),
        jobs: jobs.map(jobView),
      };
    },
  );
  app.get<{ Querystring: CustomerQuery }>(
    '/customers',
    {
      schema: op({
        summary:
          'List customers (merged ones left out), oldest first; `q` searches name, e-mail, phone and postcode ' +
          '(every word must match one of them), `email` finds an exact e-mail',
        tags: ['customers'],
        querystring: pageQuery({
          q: { type: 'string', minLength: 1, maxLength: 200 },
          email: { type: 'string', minLength: 3 },
        }),
        ok: page('Customer'),
      }),
    },
    async (req) => {
      const rows = await searchCustomers(db, req.query);
      return pageOf(rows, req.query.limit, toCustomer, (r) => r.id);
    },
  );
  app.get<{ Querystring: { status?: string; limit: number; after?: string } }>(
    '/events',
    {
      schema: op({
        summary: 'Inbox events (e.g. failed ones), newest first',
        tags: ['sync'],
        querystring: pageQuery({
          status: { type: 'string', enum: ['pending', 'applied', 'ignored', 'echo', 'failed'] },
        }),
        ok: page('InboxEvent'),
      }),
    },
    async (req) => {
      let q = db.selectFrom('inbox_events').selectAll().orderBy('id', 'desc').limit(req.query.limit);
      if (req.query.status) q = q.where('status', '=', req.query.status as 'failed');
      if (req.query.after) q = q.where('id', '<', req.query.after);
      return pageOf(await q.execute(), req.query.limit, eventView, (r) => r.id);
    },
  );
}

/** Household, role, opt-in, tier and the individual's own points balance (derived from the ledger). */
async function loyaltyView(db: AppDeps['hdb']['db'], customerId: string, now: number, s: LoyaltySettings) {
  const [m, tier, balance] = await Promise.all([
    membershipAt(db, customerId),
    tierOf(db, customerId, now, s),
    balanceOf(db, customerId),
  ]);
  return {
    household_id: m?.household_id ?? null,
    hierarchy_role: m?.role ?? null,
    points_aggregation_opt_in: m?.points_aggregation_opt_in ?? false,
    tier,
    points_balance: balance,
  };
}

function registerJobRoutes(app: FastifyInstance, deps: AppDeps): void {
  const db = deps.hdb.db;
  const now = deps.now ?? Date.now;
  app.get<{ Querystring: { status?: JobStatus; target?: string; limit: number; after?: string } }>(
    '/jobs',
    {
      schema: op({
        summary: 'Outbound jobs; `status=dead` lists the dead letters',
        tags: ['sync'],
        querystring: pageQuery({ status: { type: 'string', enum: JOB_STATUSES }, target: { type: 'string' } }),
        ok: page('Job'),
      }),
    },
    async (req) => {
      const rows = await listJobs(db, {
        status: req.query.status,
        target: req.query.target,
        after: req.query.after,
        limit: req.query.limit,
      });
      return pageOf(rows, req.query.limit, jobView, (r) => r.id);
    },
  );
  app.get<{ Params: { id: string } }>(
    '/jobs/:id',
    { schema: op({ summary: 'One job', tags: ['sync'], params: idParam, ok: 'Job' }) },
    async (req) => {
      const job = await getJob(db, req.params.id);
      if (!job) throw new HearthError('not_found', `job ${req.params.id} not found`);
      return jobView(job);
    },
  );
  app.post<{ Params: { id: string } }>(
    '/jobs/:id/retry',
    {
      schema: op({
        summary: 'Re-drive a dead (or superseded) job (operator)',
        tags: ['sync'],
        params: idParam,
        ok: 'Job',
        role: true,
        errors: ['conflict'],
      }),
    },
    async (req) => {
      requireRole(req.principal!, 'operator');
      const job = await getJob(db, req.params.id);
      if (!job) throw new HearthError('not_found', `job ${req.params.id} not found`);
      if (!(await requeueJob(db, job.id, now())))
        throw new HearthError(
          'conflict',
          `job ${job.id} is ${job.status}; only dead or superseded jobs can be retried`,
        );
      deps.onEventsStored?.();
      return jobView((await getJob(db, job.id))!);
    },
  );
  app.get<{ Querystring: { limit: number; after?: string } }>(
    '/writeback/late',
    {
      schema: op({
        summary: 'Address write-backs past the sync window (done late, or still open past it)',
        tags: ['sync'],
        querystring: pageQuery(),
        ok: 'LateWritebacks',
      }),
    },
    async (req) => {
      const windowMs = deps.config.writeback.sync_window_seconds * 1000;
      const rows = await lateWritebacks(db, windowMs, now(), req.query.limit, req.query.after);
      return {
        sync_window_seconds: deps.config.writeback.sync_window_seconds,
        ...pageOf(rows, req.query.limit, jobView, (r) => r.id),
      };
    },
  );
}

function registerKeyRoutes(app: FastifyInstance, deps: AppDeps): void {
  const db = deps.hdb.db;
  const now = deps.now ?? Date.now;
  app.post<{ Body: { name: string; role: ApiRole } }>(
    '/api-keys',
    {
      schema: op({
        summary: 'Create an API key (admin); the key is shown once',
        tags: ['admin'],
        status: 201,
        ok: 'ApiKeyCreated',
        role: true,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100 },
            role: { type: 'string', enum: [...ROLES] },
          },
          required: ['name', 'role'],
        },
      }),
    },
    async (req, reply) => {
      requireRole(req.principal!, 'admin');
      const key = await createApiKey(db, req.body.name, req.body.role, now());
      return reply.status(201).send(key);
    },
  );
  app.get<{ Querystring: { limit: number; after?: string } }>(
    '/api-keys',
    {
      schema: op({
        summary: 'List API keys (admin), without the keys',
        tags: ['admin'],
        querystring: pageQuery(),
        ok: page('ApiKey'),
        role: true,
      }),
    },
    async (req) => {
      requireRole(req.principal!, 'admin');
      let q = db
        .selectFrom('api_keys')
        .select(['id', 'name', 'role', 'created_at', 'revoked_at'])
        .orderBy('id')
        .limit(req.query.limit);
      if (req.query.after) q = q.where('id', '>', req.query.after);
      const view = (r: { id: string; name: string; role: ApiRole; created_at: number; revoked_at: number | null }) => ({
        ...r,
        created_at: new Date(r.created_at).toISOString(),
        revoked_at: r.revoked_at && new Date(r.revoked_at).toISOString(),
      });
      return pageOf(await q.execute(), req.query.limit, view, (r) => r.id);
    },
  );
  app.delete<{ Params: { id: string } }>(
    '/api-keys/:id',
    {
      schema: op({ summary: 'Revoke an API key (admin)', tags: ['admin'], params: idParam, ok: 'Revoked', role: true }),
    },
    async (req) => {
      requireRole(req.principal!, 'admin');
      const res = await db
        .updateTable('api_keys')
        .set({ revoked_at: now() })
        .where('id', '=', req.params.id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1)
        throw new HearthError('not_found', `active API key ${req.params.id} not found`);
      return { id: req.params.id, revoked: true };
    },
  );
}
