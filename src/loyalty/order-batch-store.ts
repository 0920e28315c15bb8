import type { Kysely } from 'kysely';
import { chunks } from '../db/chunks.ts';
import type { Database, TierStateTable } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { openMembersOf, toMembership } from '../households/membership-store.ts';
import { accountSums, ensureAccounts, type LedgerEntry } from './ledger-store.ts';
import { accountsOfRun, earnGuardKeys, periodAt, type BatchLedger } from './order-batch.ts';
import type { OrderFacts } from './order-ledger.ts';
import type { LoyaltySettings } from './settings.ts';
import { writeTierRows } from './tier-store.ts';

type Db = Kysely<Database>;

const CHUNK = 500;

/**
 * Loads what a run of orders reads from the ledger, in a handful of set statements whatever the
 * run's length: the keys it could repeat, the membership periods of its customers, the open
 * members of their households, balance and window spend of every account involved, stored tiers.
 */
export async function loadBatchLedger(
  db: Db,
  orders: readonly OrderFacts[],
  now: number,
  s: LoyaltySettings,
): Promise<BatchLedger> {
  const customers = [...new Set(orders.map((o) => o.customer_id))];
  const earliest = Math.min(...orders.map((o) => o.occurred_at));
  const l: BatchLedger = {
    periods: new Map(),
    members: new Map(),
    balance: new Map(),
    spend: new Map(),
    window_start: now - s.tier_window_ms,
    tiers: new Map(),
    keys: new Set(),
  };
  for (const part of chunks([...new Set(orders.flatMap(earnGuardKeys))], CHUNK)) {
    const rows = await db
      .selectFrom('ledger_entries')
      .select('idempotency_key')
      .where('idempotency_key', 'in', part)
      .execute();
    for (const r of rows) if (r.idempotency_key) l.keys.add(r.idempotency_key);
  }
  // Periods that closed before the earliest order can be in force neither then nor now.
  for (const part of chunks(customers, CHUNK)) {
    const rows = await db
      .selectFrom('household_members')
      .selectAll()
      .where('customer_id', 'in', part)
      .where((eb) => eb.or([eb('valid_to', 'is', null), eb('valid_to', '>', earliest)]))
      .execute();
    for (const r of rows) l.periods.set(r.customer_id, [...(l.periods.get(r.customer_id) ?? []), toMembership(r)]);
  }
  const households = new Set<string>();
  for (const c of customers) {
    const open = periodAt(l.periods.get(c));
    if (open) households.add(open.household_id);
  }
  for (const [household, members] of await openMembersOf(db, [...households])) l.members.set(household, members);
  await loadSums(db, l, accountsOfRun(l, orders));
  const tiered = new Set(customers);
  for (const ms of l.members.values()) for (const m of ms) tiered.add(m.customer_id);
  for (const part of chunks([...tiered], CHUNK)) {
    const rows = await db.selectFrom('tier_state').selectAll().where('customer_id', 'in', part).execute();
    for (const r of rows) l.tiers.set(r.customer_id, r);
  }
  return l;
}

/** Balance and window spend of each account in one grouped statement (per 500 accounts). */
async function loadSums(db: Db, l: BatchLedger, accounts: string[]): Promise<void> {
  for (const [a, sums] of await accountSums(db, accounts, l.window_start)) {
    l.balance.set(a, sums.balance);
    l.spend.set(a, sums.spend);
  }
}

/** What a run of orders writes, gathered in memory and written with multi-row statements. */
export interface LedgerWrites {
  entries: LedgerEntry[];
  tiers: TierStateTable[];
}

/**
 * Writes the accounts, entries and tier rows of a run. An entry whose key another writer stored
 * since the run loaded (a backfill beside the engine) fails the batch, which the apply loop
 * retries: the retry sees the key and earns nothing twice, nor forwards the order twice.
 */
export async function writeLedgerWrites(db: Db, w: LedgerWrites, now: number): Promise<void> {
  await ensureAccounts(
    db,
    w.entries.map((e) => e.account_id),
    now,
  );
  for (let i = 0; i < w.entries.length; i += 200) {
    const part = w.entries.slice(i, i + 200);
    const res = await db
      .insertInto('ledger_entries')
      .values(part)
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .executeTakeFirst();
    const inserted = Number(res.numInsertedOrUpdatedRows ?? 0n);
    if (inserted !== part.length)
      throw new HearthError('conflict', 'an order of this batch earned meanwhile elsewhere; the batch is retried', {
        expected: part.length,
        inserted,
      });
  }
  await writeTierRows(db, w.tiers);
  w.entries = [];
  w.tiers = [];
}
