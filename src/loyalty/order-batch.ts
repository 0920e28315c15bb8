import type { TierStateTable } from '../db/schema.ts';
import type { Membership } from '../households/membership-store.ts';
import type { Enrichment } from './enrichment.ts';
import { entryRow, type LedgerEntry } from './ledger-store.ts';
import { accountAt, earnEntry, earnKey, type OrderFacts } from './order-ledger.ts';
import type { LoyaltySettings } from './settings.ts';
import { tierBasisOf, tierChangesFor, type TierBasis, type TierChange } from './tier-store.ts';
import { tierFor } from './tiers.ts';

/**
 * What a run of orders in one apply batch reads from the ledger, loaded once up front
 * (order-batch-store.ts) and then kept current in memory as each order earns, so every order
 * sees the balances, spend and tiers its predecessors left — as if they were applied one by one.
 */
export interface BatchLedger {
  /** Membership periods of the ordering customers (those that can be in force at an order's time or now). */
  periods: Map<string, Membership[]>;
  /** Open members of the households the ordering customers are in now, by household, by customer id. */
  members: Map<string, Membership[]>;
  /** Points balance of every account the run can touch or read. */
  balance: Map<string, number>;
  /** Qualifying spend inside the tier window of those accounts. */
  spend: Map<string, number>;
  /** Entries credited after this moment count towards tiers (`now - tier_window_ms`). */
  window_start: number;
  /** Stored tiers of the ordering customers and their household members. */
  tiers: Map<string, TierStateTable>;
  /** Idempotency keys the ledger holds (of the run's orders, and their by-name keys). */
  keys: Set<string>;
  /** The run's accounts whose `loyalty_accounts` row exists (the others get it with their first entry). */
  accounts: Set<string>;
}

/** The keys whose presence stops an order from earning: its own, and the key a by-name backfill used. */
export function earnGuardKeys(o: Pick<OrderFacts, 'source' | 'order_ref' | 'order_name'>): string[] {
  const own = earnKey(o.source, o.order_ref);
  return o.order_name && !o.order_ref.startsWith('name:') ? [own, earnKey(o.source, `name:${o.order_name}`)] : [own];
}

/** The period in force at `at` (default: the open one), as `membershipAt` picks it: the latest start wins. */
export function periodAt(periods: readonly Membership[] | undefined, at?: number): Membership | undefined {
  let best: Membership | undefined;
  for (const p of periods ?? []) {
    const inForce =
      at === undefined ? p.valid_to === null : p.valid_from <= at && (p.valid_to === null || p.valid_to > at);
    if (inForce && (!best || p.valid_from > best.valid_from)) best = p;
  }
  return best;
}

function read(map: Map<string, number>, account: string, what: string): number {
  const v = map.get(account);
  if (v === undefined) throw new Error(`order batch: ${what} of account ${account} was not loaded`);
  return v;
}

export interface BatchEarn {
  entry: LedgerEntry;
  membership: Membership | undefined;
  account_id: string;
  points: number;
}

/**
 * Earns one order against the in-memory ledger, as `earnForOrder` does against the database:
 * null when it (or its by-name twin) already earned; else the entry to write, with the balance,
 * window spend and known keys moved on.
 */
export function earnInBatch(
  l: BatchLedger,
  o: OrderFacts,
  now: number,
  s: LoyaltySettings,
  origin: { source: string; actor: string },
): BatchEarn | null {
  if (earnGuardKeys(o).some((k) => l.keys.has(k))) return null;
  const membership = periodAt(l.periods.get(o.customer_id), o.occurred_at);
  const entry = entryRow(earnEntry(o, membership, s, origin), now);
  l.keys.add(entry.idempotency_key!);
  l.balance.set(entry.account_id, read(l.balance, entry.account_id, 'balance') + entry.points);
  if (entry.occurred_at > l.window_start)
    l.spend.set(entry.account_id, read(l.spend, entry.account_id, 'spend') + entry.spend_minor);
  return { entry, membership, account_id: entry.account_id, points: entry.points };
}

/** A customer's tier basis now (their open membership). */
export function basisInBatch(l: BatchLedger, customerId: string): TierBasis {
  return tierBasisOf(periodAt(l.periods.get(customerId)), customerId);
}

/**
 * Re-evaluates the tiers of a customer and every current member of their household, as
 * `storeTierChanges` does: returns the changes and the tier rows to store, and keeps the
 * stored tiers current in memory.
 */
export function tierChangesInBatch(
  l: BatchLedger,
  customerId: string,
  now: number,
  s: LoyaltySettings,
): { changes: TierChange[]; rows: TierStateTable[] } {
  const open = periodAt(l.periods.get(customerId));
  const bases = new Map<string, TierBasis>([[customerId, tierBasisOf(open, customerId)]]);
  if (open)
    for (const m of l.members.get(open.household_id) ?? []) bases.set(m.customer_id, tierBasisOf(m, m.customer_id));
  const out = tierChangesFor(bases, (id) => read(l.spend, id, 'spend'), l.tiers, now, s);
  for (const r of out.rows) l.tiers.set(r.customer_id, r);
  return out;
}

/** The enrichment of an order (membership at order time; tier and balance now), as `enrichmentFor` gives it. */
export function enrichmentInBatch(
  l: BatchLedger,
  customerId: string,
  m: Membership | undefined,
  s: LoyaltySettings,
): Enrichment {
  const account_id = accountAt(customerId, m);
  const basis = basisInBatch(l, customerId);
  return {
    customer_id: customerId,
    household_id: m?.household_id ?? null,
    hierarchy_role: m?.role ?? null,
    points_aggregation_opt_in: m?.points_aggregation_opt_in ?? false,
    tier: tierFor(read(l.spend, basis.basis_id, 'spend'), s.tiers),
    account_id,
    balance: read(l.balance, account_id, 'balance'),
  };
}

/** Every account a run of orders credits or reads a tier from, given the memberships loaded. */
export function accountsOfRun(
  l: Pick<BatchLedger, 'periods' | 'members'>,
  orders: readonly Pick<OrderFacts, 'customer_id' | 'occurred_at'>[],
): string[] {
  const out = new Set<string>();
  for (const o of orders) {
    out.add(accountAt(o.customer_id, periodAt(l.periods.get(o.customer_id), o.occurred_at)));
    out.add(tierBasisOf(periodAt(l.periods.get(o.customer_id)), o.customer_id).basis_id);
  }
  for (const ms of l.members.values()) for (const m of ms) out.add(tierBasisOf(m, m.customer_id).basis_id);
  return [...out];
}
