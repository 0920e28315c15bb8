import type { FastifyInstance } from 'fastify';
import { normalizeEmail } from '../../canonical/customer.ts';
import { HearthError } from '../../errors.ts';
import { adjust } from '../../loyalty/adjustment.ts';
import { enrichmentFor } from '../../loyalty/enrichment.ts';
import {
  accountExists,
  adjustmentRate,
  balanceOf,
  isHouseholdAccount,
  listEntries,
} from '../../loyalty/ledger-store.ts';
import { redeem } from '../../loyalty/redemption.ts';
import { type LoyaltySettings } from '../../loyalty/settings.ts';
import { loyaltySettings } from '../../config/derive.ts';
import { entryView } from '../../loyalty/views.ts';
import type { AppDeps } from '../deps.ts';
import { requireRole, type Principal } from '../auth.ts';
import { idParam, op, pageQuery } from '../schemas.ts';

const str = { type: 'string', minLength: 1, maxLength: 200 } as const;
const actorOf = (p: Principal): string => `api_key:${p.key_id}`;

/**
 * `/v1/loyalty/*` and `/v1/checkout/enrich`. Registering the routes also starts sampling the
 * manual-adjustment-rate gauges.
 */
export function registerLoyaltyRoutes(app: FastifyInstance, deps: AppDeps): void {
  const s = loyaltySettings(deps.config);
  sampleAdjustmentRate(deps, s);
  registerLedgerRoutes(app, deps, s);
  registerEnrichRoute(app, deps, s);
}

function sampleAdjustmentRate(deps: AppDeps, s: LoyaltySettings): void {
  deps.metrics.loyaltyAdjustmentThreshold.set(s.adjustment_alert_rate);
  // prom-client calls `collect` on scrape: the rate is read from the ledger then.
  Object.assign(deps.metrics.loyaltyAdjustmentRate, {
    collect: async () =>
      deps.metrics.loyaltyAdjustmentRate.set((await adjustmentRate(deps.hdb.db, s.adjustment_alert_rate)).rate),
  });
}

function registerLedgerRoutes(app: FastifyInstance, deps: AppDeps, s: LoyaltySettings): void {
  const db = deps.hdb.db;
  const now = deps.now ?? Date.now;
  app.post<{
    Body: { customer_id: string; points: number; account_id?: string; idempotency_key?: string; reason?: string };
  }>(
    '/loyalty/redemptions',
    {
      schema: op({
        ok: 'LedgerResult',
        status: 201,
        alsoOk: [200],
        role: true,
        errors: ['conflict', 'not_found'],
        summary:
          'Redeem points (operator): from the household pool for opted-in members (per redemption_authority), ' +
          'else the own account; 409 when the balance does not cover it',
        tags: ['loyalty'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['customer_id', 'points'],
          properties: {
            customer_id: str,
            points: { type: 'integer', minimum: 1 },
            account_id: str,
            idempotency_key: str,
            reason: { type: 'string', maxLength: 500 },
          },
        },
      }),
    },
    async (req, reply) => {
      requireRole(req.principal!, 'operator');
      const r = await redeem(db, { ...req.body, actor: actorOf(req.principal!) }, now(), s);
      return reply
        .status(r.replayed ? 200 : 201)
        .send({ entry: entryView(r.entry), balance: r.balance, replayed: r.replayed });
    },
  );
  app.post<{
    Body: { account_id: string; customer_id?: string; points: number; reason: string; idempotency_key?: string };
  }>(
    '/loyalty/adjustments',
    {
      schema: op({
        ok: 'LedgerResult',
        status: 201,
        alsoOk: [200],
        role: true,
        errors: ['conflict', 'not_found'],
        summary:
          'Manual adjustment (operator) with reason; nothing ever overwrites it. Returns the manual-adjustment rate',
        tags: ['loyalty'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['account_id', 'points', 'reason'],
          properties: {
            account_id: str,
            customer_id: str,
            points: { type: 'integer' },
            reason: { type: 'string', minLength: 1, maxLength: 500 },
            idempotency_key: str,
          },
        },
      }),
    },
    async (req, reply) => {
      requireRole(req.principal!, 'operator');
      const r = await adjust(db, { ...req.body, actor: actorOf(req.principal!) }, now(), s);
      return reply.status(r.replayed ? 200 : 201).send({
        entry: entryView(r.entry),
        balance: r.balance,
        replayed: r.replayed,
        manual_adjustment_rate: r.manual_adjustment_rate,
      });
    },
  );
  app.get<{ Params: { id: string }; Querystring: { after?: string; limit: number } }>(
    '/loyalty/accounts/:id/entries',
    {
      schema: op({
        summary: 'Ledger entries of an account (a customer or a household pool), oldest first, paged with `after`',
        tags: ['loyalty'],
        params: idParam,
        querystring: pageQuery(),
        ok: 'LedgerPage',
      }),
    },
    async (req) => {
      const id = req.params.id;
      if (!(await accountKnown(deps, id))) throw new HearthError('not_found', `account ${id} not found`);
      const rows = await listEntries(db, id, { after: req.query.after, limit: req.query.limit });
      return {
        account_id: id,
        kind: isHouseholdAccount(id) ? 'household' : 'customer',
        balance: await balanceOf(db, id),
        data: rows.map(entryView),
        next_after: rows.length === req.query.limit ? rows.at(-1)!.id : null,
      };
    },
  );
  app.get(
    '/loyalty/adjustment-rate',
    {
      schema: op({
        summary: 'Manual adjustments as a share of ledger entries, with the alert threshold',
        tags: ['loyalty'],
        ok: 'AdjustmentRate',
      }),
    },
    async () => adjustmentRate(db, s.adjustment_alert_rate),
  );
}

async function accountKnown(deps: AppDeps, id: string): Promise<boolean> {
  const db = deps.hdb.db;
  if (await accountExists(db, id)) return true;
  const table = isHouseholdAccount(id) ? 'households' : 'customers';
  return Boolean(await db.selectFrom(table).select('id').where('id', '=', id).executeTakeFirst());
}

function registerEnrichRoute(app: FastifyInstance, deps: AppDeps, s: LoyaltySettings): void {
  const db = deps.hdb.db;
  const now = deps.now ?? Date.now;
  app.post<{ Body: { customer_id?: string; email?: string; order?: Record<string, unknown> } }>(
    '/checkout/enrich',
    {
      schema: op({
        ok: 'Enrichment',
        errors: ['not_found'],
        summary:
          'Household context for a checkout in progress: household_id, hierarchy_role, points_aggregation_opt_in, ' +
          'tier (by customer_id or email)',
        tags: ['loyalty'],
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            customer_id: str,
            email: { type: 'string', minLength: 3, maxLength: 320 },
            order: { type: 'object', additionalProperties: true },
          },
        },
      }),
    },
    async (req) => {
      const { customer_id, email, order } = req.body;
      if (!customer_id && !email)
        throw new HearthError('bad_request', 'customer_id or email is required', { field: 'customer_id' });
      const id = await findCustomer(deps, customer_id, email);
      const e = await enrichmentFor(db, id, undefined, now(), s);
      return { ...e, order: order ?? null };
    },
  );
}

async function findCustomer(deps: AppDeps, customerId: string | undefined, email: string | undefined): Promise<string> {
  const db = deps.hdb.db;
  let q = db.selectFrom('customers').select(['id', 'merged_into']);
  q = customerId
    ? q.where('id', '=', customerId)
    : q.where('email_normalized', '=', normalizeEmail(email)).where('merged_into', 'is', null).orderBy('id');
  const row = await q.executeTakeFirst();
  if (!row)
    throw new HearthError(
      'not_found',
      customerId ? `customer ${customerId} not found` : `no customer with email ${email}`,
    );
  return row.merged_into ?? row.id;
}
