import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { membershipAt, type Membership } from '../households/membership-store.ts';
import { appendEntry, entryByKey, type LedgerEntry, type NewEntry } from './ledger-store.ts';
import type { LoyaltySettings } from './settings.ts';
import { pointsFor, reversalPoints } from './tiers.ts';

type Db = Kysely<Database>;

/** An order as the ledger needs it. */
export interface OrderFacts {
  source: string;
  order_ref: string;
  order_name: string | null;
  customer_id: string;
  total_minor: number;
  currency: string | null;
  occurred_at: number;
}

export interface EarnResult {
  /** The new entry, or null when this order had already earned (a repeated webhook, a re-run backfill). */
  entry: LedgerEntry | null;
  /** The membership in force at order time. */
  membership: Membership | undefined;
  account_id: string;
  points: number;
}

export const earnKey = (source: string, orderRef: string): string => `earn:${source}:${orderRef}`;

/** The account an order credits: the household pool if the member pooled at that time, else their own. */
export function accountAt(customerId: string, m: Membership | undefined): string {
  return m?.points_aggregation_opt_in ? m.household_id : customerId;
}

/**
 * Earns the points of an order under the membership in force when it was placed. Attribution
 * is always the individual; the credit goes to the pool only for opted-in members.
 */
export async function earnForOrder(
  db: Db,
  o: OrderFacts,
  now: number,
  s: LoyaltySettings,
  origin: { source: string; actor: string },
): Promise<EarnResult> {
  // A backfill of an export without order ids earned this order under its name: not twice.
  if (
    o.order_name &&
    !o.order_ref.startsWith('name:') &&
    (await entryByKey(db, earnKey(o.source, `name:${o.order_name}`)))
  ) {
    return { entry: null, membership: undefined, account_id: o.customer_id, points: 0 };
  }
  const membership = await membershipAt(db, o.customer_id, o.occurred_at);
  const e = earnEntry(o, membership, s, origin);
  const entry = await appendEntry(db, e, now);
  return { entry, membership, account_id: e.account_id, points: e.points };
}

/** The earn entry of an order under the membership in force when it was placed. */
export function earnEntry(
  o: OrderFacts,
  membership: Membership | undefined,
  s: LoyaltySettings,
  origin: { source: string; actor: string },
): NewEntry {
  const spend = Math.max(0, o.total_minor);
  return {
    kind: 'earn',
    account_id: accountAt(o.customer_id, membership),
    customer_id: o.customer_id,
    household_id: membership?.household_id ?? null,
    points: pointsFor(spend, s.points_per_unit),
    spend_minor: spend,
    currency: o.currency,
    order_ref: o.order_ref,
    order_name: o.order_name,
    source: origin.source,
    actor: origin.actor,
    reason: `order ${o.order_name ?? o.order_ref}`,
    idempotency_key: earnKey(o.source, o.order_ref),
    occurred_at: o.occurred_at,
  };
}

export interface Reversal {
  source: string;
  order_ref: string;
  reason: 'cancelled' | 'refunded';
  refund_id: string | null;
  /** Minor units refunded; null: the whole order. */
  amount_minor: number | null;
  occurred_at: number;
}

/**
 * Takes back an order's points (all of them on cancellation, pro rata on a refund), from the
 * account the order credited, never more than it still holds from that order. Returns null
 * when the order never earned or this reversal was already recorded.
 */
export async function reverseOrder(
  db: Db,
  r: Reversal,
  now: number,
  origin: { source: string; actor: string },
): Promise<LedgerEntry | null> {
  const earn = await entryByKey(db, earnKey(r.source, r.order_ref));
  if (!earn) return null;
  const done = await db
    .selectFrom('ledger_entries')
    .select((eb) => [
      eb.fn.sum<number | string | null>('points').as('p'),
      eb.fn.sum<number | string | null>('spend_minor').as('s'),
    ])
    .where('ref_entry_id', '=', earn.id)
    .where('kind', '=', 'reverse')
    .executeTakeFirst();
  const leftPoints = earn.points + Number(done?.p ?? 0);
  const leftSpend = earn.spend_minor + Number(done?.s ?? 0);
  const whole = r.reason === 'cancelled' || r.amount_minor === null;
  const points = whole
    ? leftPoints
    : Math.min(leftPoints, reversalPoints(earn.points, earn.spend_minor, r.amount_minor));
  const spend = whole ? leftSpend : Math.min(leftSpend, r.amount_minor!);
  const key =
    r.reason === 'cancelled'
      ? `reverse:${r.source}:${r.order_ref}:cancel`
      : `reverse:${r.source}:${r.order_ref}:refund:${r.refund_id ?? r.occurred_at}`;
  return appendEntry(
    db,
    {
      kind: 'reverse',
      account_id: earn.account_id,
      customer_id: earn.customer_id,
      household_id: earn.household_id,
      points: -points,
      spend_minor: -spend,
      currency: earn.currency,
      order_ref: earn.order_ref,
      order_name: earn.order_name,
      ref_entry_id: earn.id,
      source: origin.source,
      actor: origin.actor,
      reason: `order ${earn.order_name ?? earn.order_ref} ${r.reason}`,
      idempotency_key: key,
      occurred_at: r.occurred_at,
    },
    now,
  );
}
