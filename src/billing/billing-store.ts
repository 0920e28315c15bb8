import type { Kysely } from 'kysely';
import type { PostalAddress } from '../address/types.ts';
import type { BillingStatus, Subscription } from '../canonical/types.ts';
import { chunks } from '../db/chunks.ts';
import type { Database } from '../db/schema.ts';

type Db = Kysely<Database>;

/** One billing-system customer, as the apply flows name it. */
export interface BillingRef {
  system: string;
  external_id: string;
  /** Null until it can be linked to a customer: the row is kept and attached later. */
  customer_id: string | null;
  email: string | null;
}

/** A customer's billing view, over every billing account linked to them. */
export interface BillingView {
  status: BillingStatus | null;
  status_since: number | null;
  billing_address: PostalAddress | null;
  subscriptions: (Subscription & { system: string })[];
}

/** Ensures the account row exists, linking it when the customer is known. */
async function ensureAccount(db: Db, ref: BillingRef, now: number): Promise<void> {
  await db
    .insertInto('billing_accounts')
    .values({
      system: ref.system,
      external_id: ref.external_id,
      customer_id: ref.customer_id,
      email: ref.email,
      updated_at: now,
    })
    .onConflict((oc) => oc.columns(['system', 'external_id']).doNothing())
    .execute();
  if (ref.customer_id) await attachAccount(db, ref.system, ref.external_id, ref.customer_id);
}

/**
 * Records a standing unless a newer one was already applied (deliveries arrive out of order).
 * Returns whether it was applied.
 */
export async function recordStatus(
  db: Db,
  ref: BillingRef,
  status: BillingStatus,
  reason: string | null,
  at: number,
  now: number,
): Promise<boolean> {
  await ensureAccount(db, ref, now);
  const r = await db
    .updateTable('billing_accounts')
    .set({ status, status_at: at, status_reason: reason, updated_at: now })
    .where('system', '=', ref.system)
    .where('external_id', '=', ref.external_id)
    .where((eb) => eb.or([eb('status_at', 'is', null), eb('status_at', '<=', at)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Records the billing address unless a newer one was already applied. */
export async function recordBillingAddress(
  db: Db,
  ref: BillingRef,
  address: PostalAddress | null,
  at: number,
  now: number,
): Promise<boolean> {
  await ensureAccount(db, ref, now);
  const r = await db
    .updateTable('billing_accounts')
    .set({ billing_address: address ? JSON.stringify(address) : null, address_at: at, updated_at: now })
    .where('system', '=', ref.system)
    .where('external_id', '=', ref.external_id)
    .where((eb) => eb.or([eb('address_at', 'is', null), eb('address_at', '<=', at)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Records a subscription's state unless a newer one was already applied. */
export async function recordSubscription(db: Db, ref: BillingRef, s: Subscription, at: number, now: number) {
  await ensureAccount(db, ref, now);
  await db
    .insertInto('billing_subscriptions')
    .values({
      system: ref.system,
      subscription_id: s.id,
      external_id: ref.external_id,
      name: s.name,
      status: s.status,
      changed_at: at,
    })
    .onConflict((oc) => oc.columns(['system', 'subscription_id']).doNothing())
    .execute();
  const r = await db
    .updateTable('billing_subscriptions')
    .set({ name: s.name, status: s.status, changed_at: at })
    .where('system', '=', ref.system)
    .where('subscription_id', '=', s.id)
    .where('changed_at', '<=', at)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** A billing record kept unlinked is attached once the crosswalk knows its customer. */
export async function attachAccount(db: Db, system: string, externalId: string, customerId: string): Promise<void> {
  await db
    .updateTable('billing_accounts')
    .set({ customer_id: customerId })
    .where('system', '=', system)
    .where('external_id', '=', externalId)
    .where('customer_id', 'is', null)
    .execute();
}

/** The customer's billing view: the most recent standing and address over their accounts. */
export async function billingOf(db: Db, customerId: string): Promise<BillingView> {
  return (await billingsOf(db, [customerId])).get(customerId)!;
}

/**
 * The billing view of each of these customers (every one listed; none linked: an empty view),
 * with two statements per 200 customers: their accounts, and those accounts' subscriptions.
 */
export async function billingsOf(db: Db, customerIds: readonly string[]): Promise<Map<string, BillingView>> {
  const ids = [...new Set(customerIds)];
  const out = new Map<string, BillingView>();
  for (const part of chunks(ids, 200)) {
    const accounts = await db.selectFrom('billing_accounts').selectAll().where('customer_id', 'in', part).execute();
    const owner = new Map(accounts.map((a) => [`${a.system}\u0000${a.external_id}`, a.customer_id!]));
    const subs = accounts.length
      ? await db
          .selectFrom('billing_subscriptions')
          .selectAll()
          .where((eb) =>
            eb.or(accounts.map((a) => eb.and([eb('system', '=', a.system), eb('external_id', '=', a.external_id)]))),
          )
          .orderBy('subscription_id')
          .execute()
      : [];
    for (const id of part) {
      const mine = accounts.filter((a) => a.customer_id === id);
      const byStatus = mine.filter((a) => a.status).sort((a, b) => (b.status_at ?? 0) - (a.status_at ?? 0))[0];
      const byAddress = mine.filter((a) => a.address_at).sort((a, b) => b.address_at! - a.address_at!)[0];
      out.set(id, {
        status: (byStatus?.status as BillingStatus | undefined) ?? null,
        status_since: byStatus?.status_at ?? null,
        billing_address: byAddress?.billing_address ? (JSON.parse(byAddress.billing_address) as PostalAddress) : null,
        subscriptions: subs
          .filter((s) => owner.get(`${s.system}\u0000${s.external_id}`) === id)
          .map((s) => ({ system: s.system, id: s.subscription_id, name: s.name, status: s.status })),
      });
    }
  }
  return out;
}

/** Billing records no customer could be linked to yet (the review list). */
export async function unlinkedAccounts(db: Db, limit = 100) {
  return db
    .selectFrom('billing_accounts')
    .selectAll()
    .where('customer_id', 'is', null)
    .orderBy('updated_at', 'desc')
    .limit(limit)
    .execute();
}
