import type { Kysely } from 'kysely';
import { billingsOf } from '../billing/billing-store.ts';
import { addressOf } from '../canonical/customer.ts';
import { PROFILE_PROJECT, type ProfileProjectPayload } from '../canonical/types.ts';
import { minimiseJobs } from '../governance/minimise.ts';
import { FIELDS_WRITE, type FieldsWritePayload, WRITABLE_FIELDS } from '../connectors/fields-write.ts';
import { chunks } from '../db/chunks.ts';
import type { CustomersTable, Database } from '../db/schema.ts';
import { CLEARABLE_FIELDS, type ClearableField } from '../canonical/fields.ts';
import { enqueueJobs, type NewJob } from '../engine/jobs.ts';
import { openMemberships } from '../households/membership-store.ts';
import { accountSums } from '../loyalty/ledger-store.ts';
import { accountAt } from '../loyalty/order-ledger.ts';
import { tierBasisOf } from '../loyalty/tier-store.ts';
import { tierFor } from '../loyalty/tiers.ts';
import type { BatchState } from './batch-state.ts';
import type { EngineContext } from './context.ts';
import type { ChangeOrigin } from './outbound-jobs.ts';

type Db = Kysely<Database>;

/** The customer view one projection carries (less the record id, which is per target). */
type Profile = Omit<ProfileProjectPayload, 'external_id'>;

/**
 * The customers as the systems that read the customer view should show them, by id (an unknown
 * customer is absent): read together, with a statement or two per table for all of them (the
 * rows, the open household periods, the billing accounts and subscriptions, the ledger sums of
 * the accounts that set each one's points and tier), not some seven per customer.
 */
export async function profilesOf(
  db: Db,
  ctx: Pick<EngineContext, 'loyalty'>,
  customerIds: readonly string[],
  now: number,
): Promise<Map<string, Profile>> {
  const rows: CustomersTable[] = [];
  for (const part of chunks([...new Set(customerIds)], 200))
    rows.push(...(await db.selectFrom('customers').selectAll().where('id', 'in', part).execute()));
  const ids = rows.map((r) => r.id);
  const memberships = await openMemberships(db, ids);
  const billings = await billingsOf(db, ids);
  // The points account (the pool for opted-in members) and the tier basis: the same account today.
  const points = new Map(ids.map((id) => [id, accountAt(id, memberships.get(id))]));
  const basis = new Map(ids.map((id) => [id, tierBasisOf(memberships.get(id), id).basis_id]));
  const sums = await accountSums(
    db,
    [...new Set([...points.values(), ...basis.values()])],
    now - ctx.loyalty.tier_window_ms,
  );
  const out = new Map<string, Profile>();
  for (const row of rows) {
    const m = memberships.get(row.id);
    const billing = billings.get(row.id)!;
    out.set(row.id, {
      customer_id: row.id,
      given_name: row.given_name,
      family_name: row.family_name,
      email: row.email,
      phone: row.phone,
      address: addressOf(row),
      household_id: m?.household_id ?? null,
      hierarchy_role: m?.role ?? null,
      loyalty_tier: tierFor(sums.get(basis.get(row.id)!)!.spend, ctx.loyalty.tiers),
      points_balance: sums.get(points.get(row.id)!)!.balance,
      billing_status: billing.status,
      billing_status_since: billing.status_since,
      billing_address: billing.billing_address,
      subscriptions: billing.subscriptions.map(({ id, name, status }) => ({ id, name, status })),
      ...clearedOf(row),
    });
  }
  return out;
}

/** Person fields an owning system cleared: empty, yet with a recorded writer (never known: no writer). */
function clearedOf(row: Pick<CustomersTable, ClearableField | 'field_sources'>): { cleared?: ClearableField[] } {
  const sources = JSON.parse(row.field_sources || '{}') as Record<string, string | undefined>;
  const cleared = CLEARABLE_FIELDS.filter((f) => row[f] === null && sources[f]);
  return cleared.length ? { cleared } : {};
}

/** Projections asked for in one batch: per customer, each change with its targets and condition. */
interface Asked {
  origin: ChangeOrigin;
  targets: string[];
  when: () => boolean;
}
const asked = new WeakMap<BatchState, { byCustomer: Map<string, Asked[]>; last: number }>();

/**
 * One canonical change fans out to every system that reads the customer view, as independent
 * jobs (one ordered queue per system; a newer profile supersedes a pending one). The system the
 * change came from is skipped: it holds the change already.
 *
 * Within a batch the projections are written once, by the last task queued: a checkout stores an
 * address change and an order (points), and each used to read the profile, look up every target's
 * link and enqueue jobs that the next one superseded at once. Now each customer's profile is read
 * once, after every task of the batch before it (so it is what is about to commit), the links of
 * all customers and targets in one query, and the jobs enqueued together. Per target, the job
 * carries the origin of the latest change that projects there (as the superseding job did).
 */
export function queueProjection(
  state: BatchState,
  ctx: EngineContext,
  customerId: string,
  origin: ChangeOrigin,
  when: () => boolean = () => true,
): void {
  const targets = (ctx.projection_targets ?? []).filter((t) => t !== origin.source);
  if (targets.length === 0) return;
  const batch = asked.get(state) ?? { byCustomer: new Map<string, Asked[]>(), last: 0 };
  asked.set(state, batch);
  batch.byCustomer.set(customerId, [...(batch.byCustomer.get(customerId) ?? []), { origin, targets, when }]);
  const mine = ++batch.last;
  state.deferred.push(async (trx) => {
    // Tasks run in order: only the last one queued writes, once every earlier task has run.
    if (mine !== batch.last) return;
    asked.delete(state);
    await writeProjections(trx, ctx, batch.byCustomer);
  });
}

async function writeProjections(trx: Db, ctx: EngineContext, byCustomer: Map<string, Asked[]>): Promise<void> {
  const now = Date.now();
  const wanted = new Map<string, Map<string, ChangeOrigin>>();
  for (const [customerId, list] of byCustomer) {
    const perTarget = new Map<string, ChangeOrigin>();
    for (const a of list) if (a.when()) for (const t of a.targets) perTarget.set(t, a.origin);
    if (perTarget.size > 0) wanted.set(customerId, perTarget);
  }
  if (wanted.size === 0) return;
  const links = await linksOf(
    trx,
    [...wanted.keys()],
    [...new Set([...wanted.values()].flatMap((m) => [...m.keys()]))],
  );
  const profiles = await profilesOf(trx, ctx, [...wanted.keys()], now);
  const jobs: NewJob[] = [];
  for (const [customerId, perTarget] of wanted) {
    const profile = profiles.get(customerId);
    if (!profile) continue;
    for (const [target, origin] of perTarget) {
      const payload: ProfileProjectPayload = {
        ...profile,
        external_id: links.get(`${target}\u0000${customerId}`) ?? null,
      };
      jobs.push({
        target,
        kind: PROFILE_PROJECT,
        job_key: `${target}:profile:${customerId}`,
        payload,
        origin_at: origin.occurred_at,
        event_id: origin.event_id,
        customer_id: customerId,
        supersedes_pending: true,
      });
    }
  }
  await enqueueJobs(trx, ctx.minimisation ? minimiseJobs(jobs, ctx.minimisation) : jobs, ctx.max_attempts, now);
}

/** Each customer's most recently updated record per target system, by `system \0 customer_id`. */
async function linksOf(trx: Db, customerIds: string[], systems: string[]): Promise<Map<string, string>> {
  const out = new Map<string, { external_id: string; updated_at: number }>();
  for (let i = 0; i < customerIds.length; i += 200) {
    const rows = await trx
      .selectFrom('source_links')
      .select(['system', 'customer_id', 'external_id', 'updated_at'])
      .where('system', 'in', systems)
      .where('customer_id', 'in', customerIds.slice(i, i + 200))
      .execute();
    for (const r of rows) {
      const key = `${r.system}\u0000${r.customer_id}`;
      const seen = out.get(key);
      if (!seen || Number(r.updated_at) > seen.updated_at)
        out.set(key, { external_id: r.external_id, updated_at: Number(r.updated_at) });
    }
  }
  return new Map([...out].map(([k, v]) => [k, v.external_id]));
}

/**
 * A person field (phone, name) changed by a system other than the write-back CRM reaches the
 * CRM as a fields write (an agent's phone correction in support lands in the CRM). One job per
 * field, keyed like reconciliation's heals, so a newer value supersedes a pending one.
 */
export function queueCrmFields(
  state: BatchState,
  ctx: EngineContext,
  customerId: string,
  origin: ChangeOrigin,
  /** The fields this change logged for the customer. */
  changed: ReadonlySet<string>,
) {
  const crm = ctx.writeback_crm;
  const link = state.crmLinks.get(customerId);
  // Only systems that read the customer view push person fields on (CRM and checkout flows keep theirs).
  if (!crm || !link || origin.source === crm || !ctx.projection_targets?.includes(origin.source)) return;
  const row = state.customers.get(customerId);
  for (const field of WRITABLE_FIELDS) {
    if (!row || !changed.has(field)) continue;
    const payload: FieldsWritePayload = {
      customer_id: customerId,
      external_id: link.external_id,
      fields: { [field]: row[field] },
    };
    state.jobs.push({
      target: crm,
      kind: FIELDS_WRITE,
      job_key: `${crm}:${customerId}:${field}`,
      payload,
      origin_at: origin.occurred_at,
      event_id: origin.event_id,
      customer_id: customerId,
      supersedes_pending: true,
    });
  }
}
