import type { Kysely } from 'kysely';
import { billingOf } from '../billing/billing-store.ts';
import { addressOf } from '../canonical/customer.ts';
import { PROFILE_PROJECT, type ProfileProjectPayload } from '../canonical/types.ts';
import { minimiseJobs } from '../governance/minimise.ts';
import { FIELDS_WRITE, type FieldsWritePayload, WRITABLE_FIELDS } from '../connectors/fields-write.ts';
import type { Database } from '../db/schema.ts';
import { enqueueJobs, type NewJob } from '../engine/jobs.ts';
import { membershipAt } from '../households/membership-store.ts';
import { balanceOf } from '../loyalty/ledger-store.ts';
import { accountAt } from '../loyalty/order-ledger.ts';
import { tierOf } from '../loyalty/tier-store.ts';
import type { BatchState } from './batch-state.ts';
import type { EngineContext } from './context.ts';
import type { ChangeOrigin } from './outbound-jobs.ts';

type Db = Kysely<Database>;

/** The customer as the systems that read the customer view should show it (null: unknown customer). */
export async function profileOf(
  db: Db,
  ctx: Pick<EngineContext, 'loyalty'>,
  customerId: string,
  now: number,
): Promise<Omit<ProfileProjectPayload, 'external_id'> | null> {
  const row = await db.selectFrom('customers').selectAll().where('id', '=', customerId).executeTakeFirst();
  if (!row) return null;
  const m = await membershipAt(db, customerId);
  const billing = await billingOf(db, customerId);
  return {
    customer_id: row.id,
    given_name: row.given_name,
    family_name: row.family_name,
    email: row.email,
    phone: row.phone,
    address: addressOf(row),
    household_id: m?.household_id ?? null,
    hierarchy_role: m?.role ?? null,
    loyalty_tier: await tierOf(db, customerId, now, ctx.loyalty),
    points_balance: await balanceOf(db, accountAt(customerId, m)),
    billing_status: billing.status,
    billing_status_since: billing.status_since,
    billing_address: billing.billing_address,
    subscriptions: billing.subscriptions.map(({ id, name, status }) => ({ id, name, status })),
  };
}

/**
 * One canonical change fans out to every system that reads the customer view, as independent
 * jobs (one ordered queue per system; a newer profile supersedes a pending one). The profile is
 * read in the batch's transaction after its rows are written, so it is what was just committed.
 * The system the change came from is skipped: it holds the change already.
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
  state.deferred.push(async (trx) => {
    if (!when()) return;
    const now = Date.now();
    const profile = await profileOf(trx, ctx, customerId, now);
    if (!profile) return;
    const jobs: NewJob[] = [];
    for (const target of targets) {
      const link = await trx
        .selectFrom('source_links')
        .select('external_id')
        .where('system', '=', target)
        .where('customer_id', '=', customerId)
        .orderBy('updated_at', 'desc')
        .executeTakeFirst();
      const payload: ProfileProjectPayload = { ...profile, external_id: link?.external_id ?? null };
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
    await enqueueJobs(trx, ctx.minimisation ? minimiseJobs(jobs, ctx.minimisation) : jobs, ctx.max_attempts, now);
  });
}

/**
 * A person field (phone, name) changed by a system other than the write-back CRM reaches the
 * CRM as a fields write (an agent's phone correction in support lands in the CRM). One job per
 * field, keyed like reconciliation's heals, so a newer value supersedes a pending one.
 */
export function queueCrmFields(state: BatchState, ctx: EngineContext, customerId: string, origin: ChangeOrigin) {
  const crm = ctx.writeback_crm;
  const link = state.crmLinks.get(customerId);
  // Only systems that read the customer view push person fields on (CRM and checkout flows keep theirs).
  if (!crm || !link || origin.source === crm || !ctx.projection_targets?.includes(origin.source)) return;
  const row = state.customers.get(customerId);
  const changed = new Set(
    state.changeLog.filter((c) => c.customer_id === customerId && c.event_id === origin.event_id).map((c) => c.field),
  );
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
