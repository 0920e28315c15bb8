import type { LoyaltySettings } from '../../loyalty/settings.ts';
import { engineContext } from '../../flows/engine-context.ts';
import { idpTargetsOf, loyaltySettings } from '../../config/derive.ts';
import type { FastifyInstance } from 'fastify';
import { getCustomerRow } from '../../customers/customer-store.ts';
import type { HouseholdPullsTable, HouseholdsTable } from '../../db/schema.ts';
import { HearthError } from '../../errors.ts';
import {
  householdHistory,
  householdMembersAt,
  membershipAt,
  type Membership,
} from '../../households/membership-store.ts';
import { setOptInViaApi } from '../../flows/opt-in.ts';
import { listPulls } from '../../flows/crm-pull.ts';
import { pullConnector } from '../../flows/pull-sources.ts';
import { poolBalance } from '../../loyalty/ledger-store.ts';
import { householdTier } from '../../loyalty/tier-store.ts';
import type { AppDeps } from '../deps.ts';
import { requireRole } from '../auth.ts';
import { idParam, nameParam, op, page, pageOf, pageQuery } from '../schemas.ts';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/** Households (read), a member's opt-in (operator), and CRM pulls (operator). */
export function registerHouseholdRoutes(app: FastifyInstance, deps: AppDeps): void {
  const loyalty = loyaltySettings(deps.config);
  const db = deps.hdb.db;
  const now = deps.now ?? Date.now;

  app.get<{ Params: { id: string } }>(
    '/households/:id',
    {
      schema: op({
        summary: 'A household: members with role and opt-in, pool balance, tier, membership history',
        tags: ['households'],
        params: idParam,
        ok: 'Household',
      }),
    },
    async (req) => {
      const view = await householdView(deps, req.params.id, now(), loyalty);
      if (!view) throw new HearthError('not_found', `household ${req.params.id} not found`);
      return view;
    },
  );

  app.get<{ Querystring: { customer_id?: string; limit: number; after?: string } }>(
    '/households',
    {
      schema: op({
        summary: 'The household of a customer (`customer_id`), or households newest first',
        tags: ['households'],
        querystring: pageQuery({ customer_id: { type: 'string', minLength: 1 } }),
        ok: page('HouseholdSummary'),
        errors: ['not_found'],
      }),
    },
    async (req) => {
      if (req.query.customer_id !== undefined) {
        const customer = await getCustomerRow(db, req.query.customer_id);
        if (!customer) throw new HearthError('not_found', `customer ${req.query.customer_id} not found`);
        const m = await membershipAt(db, customer.id);
        return { data: m ? [await householdView(deps, m.household_id, now(), loyalty)] : [], next_after: null };
      }
      let q = db.selectFrom('households').selectAll().orderBy('id', 'desc').limit(req.query.limit);
      if (req.query.after) q = q.where('id', '<', req.query.after);
      const view = (h: HouseholdsTable) => ({
        id: h.id,
        name: h.name,
        source_system: h.source_system,
        external_id: h.external_id,
        updated_at: iso(h.updated_at),
      });
      return pageOf(await q.execute(), req.query.limit, view, (h) => h.id);
    },
  );

  app.put<{ Params: { id: string }; Body: { opt_in: boolean } }>(
    '/customers/:id/household-opt-in',
    {
      schema: op({
        summary: "Set a member's points_aggregation_opt_in (operator); written back to the household CRM",
        tags: ['households'],
        params: idParam,
        ok: 'OptInResult',
        role: true,
        errors: ['conflict'],
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { opt_in: { type: 'boolean' } },
          required: ['opt_in'],
        },
      }),
    },
    async (req) => {
      requireRole(req.principal!, 'operator');
      const h = deps.config.households;
      if (!h) throw new HearthError('conflict', 'households are not configured (config households.source)');
      const r = await setOptInViaApi(
        db,
        req.params.id,
        req.body.opt_in,
        {
          opt_in_property: h.opt_in_property,
          idp: idpTargetsOf(deps.config),
          max_attempts: deps.config.jobs.max_attempts,
          loyalty,
        },
        now(),
      );
      if (r.job_id) deps.onEventsStored?.();
      return {
        customer_id: r.membership.customer_id,
        household_id: r.membership.household_id,
        hierarchy_role: r.membership.role,
        points_aggregation_opt_in: r.membership.points_aggregation_opt_in,
        changed: r.changed,
        writeback_job_id: r.job_id,
      };
    },
  );

  app.post<{
    Params: { name: string };
    Body: { restart?: boolean; max_pages?: number; page_size?: number } | undefined;
  }>(
    '/connectors/:name/pull',
    {
      schema: op({
        ok: 'PullSummary',
        role: true,
        errors: ['conflict', 'connector_error'],
        summary:
          'Import or refresh every contact of a CRM with its household relationships (operator); ' +
          'resumes an unfinished pull. One call does at most `max_pages` pages (default 20) and answers ' +
          '`paused` when more remain: call again to go on (`hearth sync pull` runs to the end)',
        tags: ['households'],
        params: nameParam,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            restart: { type: 'boolean' },
            max_pages: { type: 'integer', minimum: 1, maximum: 500, default: 20 },
            page_size: { type: 'integer', minimum: 1, maximum: 200 },
          },
        },
      }),
    },
    async (req) => {
      requireRole(req.principal!, 'operator');
      const b = req.body ?? {};
      const summary = await pullConnector(
        deps.hdb,
        deps.config,
        deps.connectors,
        engineContext(deps.config, deps.connectors),
        req.params.name,
        {
          ...(b.restart ? { restart: true } : {}),
          ...(b.max_pages ? { max_pages: b.max_pages } : {}),
          ...(b.page_size ? { page_size: b.page_size } : {}),
        },
        now,
      );
      deps.onEventsStored?.();
      return summary;
    },
  );

  app.get<{ Params: { name: string }; Querystring: { limit: number; after?: string } }>(
    '/connectors/:name/pulls',
    {
      schema: op({
        summary: 'Pulls of a CRM, newest first, with their cursor and counts',
        tags: ['households'],
        params: nameParam,
        querystring: pageQuery(),
        ok: page('Pull'),
      }),
    },
    async (req) => {
      const rows = await listPulls(db, req.params.name, req.query.limit, req.query.after);
      return pageOf(rows, req.query.limit, pullView, (r) => r.id);
    },
  );
}

async function householdView(deps: AppDeps, id: string, now: number, loyalty: LoyaltySettings) {
  const db = deps.hdb.db;
  const hh = await db.selectFrom('households').selectAll().where('id', '=', id).executeTakeFirst();
  if (!hh) return null;
  const [members, history] = await Promise.all([householdMembersAt(db, hh.id), householdHistory(db, hh.id)]);
  const people = members.length
    ? await db
        .selectFrom('customers')
        .select(['id', 'given_name', 'family_name', 'email'])
        .where(
          'id',
          'in',
          members.map((m) => m.customer_id),
        )
        .execute()
    : [];
  const byId = new Map(people.map((p) => [p.id, p]));
  return {
    id: hh.id,
    name: hh.name,
    source_system: hh.source_system,
    external_id: hh.external_id,
    pool_balance: await poolBalance(db, hh.id),
    tier: await householdTier(db, hh.id, now, loyalty),
    members: members.map((m) => ({
      ...memberView(m),
      given_name: byId.get(m.customer_id)?.given_name ?? null,
      family_name: byId.get(m.customer_id)?.family_name ?? null,
      email: byId.get(m.customer_id)?.email ?? null,
    })),
    history: history.map(memberView),
    created_at: iso(hh.created_at),
    updated_at: iso(hh.updated_at),
  };
}

function memberView(m: Membership) {
  return {
    customer_id: m.customer_id,
    hierarchy_role: m.role,
    points_aggregation_opt_in: m.points_aggregation_opt_in,
    valid_from: iso(m.valid_from),
    valid_to: iso(m.valid_to),
  };
}

function pullView(r: HouseholdPullsTable) {
  return { ...r, started_at: iso(r.started_at), updated_at: iso(r.updated_at), finished_at: iso(r.finished_at) };
}
