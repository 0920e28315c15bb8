import { type Kysely, type RawBuilder, sql } from 'kysely';
import { chunks } from '../db/chunks.ts';
import type { Database, HouseholdMembersTable, TierStateTable } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { toMembership } from '../households/membership-store.ts';
import { ensureAccounts, type LedgerEntry } from './ledger-store.ts';
import { accountsOfRun, earnGuardKeys, periodAt, type BatchLedger } from './order-batch.ts';
import type { OrderFacts } from './order-ledger.ts';
import type { LoyaltySettings } from './settings.ts';
import { writeTierRows } from './tier-store.ts';

type Db = Kysely<Database>;

const CHUNK = 500;

/**
 * Loads what a run of orders reads from the ledger, in two set statements whatever the run's
 * length (per 500 customers, keys or accounts): the membership periods of its customers with the
 * open members of their households; then, in one UNION ALL, the keys it could repeat, balance and
 * window spend of every account involved, which of those accounts exist, and the stored tiers.
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
    accounts: new Set(),
  };
  await loadMemberships(db, l, customers, earliest);
  const tiered = new Set(customers);
  for (const ms of l.members.values()) for (const m of ms) tiered.add(m.customer_id);
  await loadLedgerRows(db, l, [...new Set(orders.flatMap(earnGuardKeys))], accountsOfRun(l, orders), [...tiered]);
  return l;
}

/**
 * The customers' membership periods that can be in force at an order's time or now (periods that
 * closed before the earliest order cannot), and the open members of the households they are in
 * now: one statement per 500 customers (it was two). Member order does not matter: the tiers are
 * re-evaluated in customer id order whatever it is.
 */
async function loadMemberships(db: Db, l: BatchLedger, customers: string[], earliest: number): Promise<void> {
  const mine = new Set(customers);
  const open: HouseholdMembersTable[] = [];
  const seen = new Set<string>();
  for (const part of chunks(customers, CHUNK)) {
    // Written as SQL, not built (every run of orders): the builder cost more than the statement.
    const ids = sql.join(part);
    // A semi-join: each member once (a join gave each member once per ordering customer of the household).
    const { rows } = await sql<HouseholdMembersTable>`select * from "household_members"
      where "customer_id" in (${ids}) and ("valid_to" is null or "valid_to" > ${earliest})
      union all select * from "household_members" where "valid_to" is null and "household_id" in
      (select "h"."household_id" from "household_members" as "h" where "h"."customer_id" in (${ids})
      and "h"."valid_to" is null)`.execute(db);
    for (const r of rows) {
      // A row can come back twice: a customer's open period is also a member of their household.
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      if (mine.has(r.customer_id) && (r.valid_to === null || r.valid_to > earliest))
        l.periods.set(r.customer_id, [...(l.periods.get(r.customer_id) ?? []), toMembership(r)]);
      if (r.valid_to === null) open.push(r);
    }
  }
  const households = new Set<string>();
  for (const c of customers) {
    const period = periodAt(l.periods.get(c));
    if (period) households.add(period.household_id);
  }
  for (const h of households) l.members.set(h, []);
  for (const r of open) if (households.has(r.household_id)) l.members.get(r.household_id)!.push(toMembership(r));
}

type LedgerRow = {
  kind: string;
  id: string | null;
  b: number | string | null;
  s: number | string | null;
  tier: string | null;
  basis: string | null;
  basis_id: string | null;
  q: number | null;
  u: number | null;
};

/**
 * Keys the ledger holds already, balance and window spend per account (one grouped arm), which
 * accounts have their row, and stored tiers, as one UNION ALL statement (per 500 of each list):
 * they were four statements, each a round trip, for every run of orders.
 */
async function loadLedgerRows(
  db: Db,
  l: BatchLedger,
  keys: string[],
  accounts: string[],
  tiered: string[],
): Promise<void> {
  for (const a of accounts) {
    l.balance.set(a, 0);
    l.spend.set(a, 0);
  }
  // Written as SQL, not built: the query builder spent more on these arms (every run of orders)
  // than the database spent running them. None of these tables holds encrypted columns.
  const none = sql.raw(
    'cast(null as text) as "tier", cast(null as text) as "basis", cast(null as text) as "basis_id", ' +
      'cast(null as bigint) as "q", cast(null as bigint) as "u"',
  );
  const noSums = sql.raw('cast(null as bigint) as "b", cast(null as bigint) as "s"');
  const arms: LedgerArm[] = [];
  for (const part of chunks(keys, CHUNK))
    arms.push(
      sql`select 'k' as "kind", "idempotency_key" as "id", ${noSums}, ${none} from "ledger_entries"
      where "idempotency_key" in (${sql.join(part)})`,
    );
  for (const part of chunks(accounts, CHUNK)) {
    arms.push(
      sql`select 's' as "kind", "account_id" as "id", sum("points") as "b",
      sum(case when "occurred_at" > ${l.window_start} then "spend_minor" else 0 end) as "s", ${none}
      from "ledger_entries" where "account_id" in (${sql.join(part)}) group by "account_id"`,
    );
    arms.push(
      sql`select 'a' as "kind", "id", ${noSums}, ${none} from "loyalty_accounts" where "id" in (${sql.join(part)})`,
    );
  }
  for (const part of chunks(tiered, CHUNK))
    arms.push(
      sql`select 't' as "kind", "customer_id" as "id", ${noSums}, "tier", "basis", "basis_id",
      "qualifying_spend_minor" as "q", "updated_at" as "u" from "tier_state"
      where "customer_id" in (${sql.join(part)})`,
    );
  for (let i = 0; i < arms.length; i += ARMS_PER_STATEMENT) {
    const q = sql<LedgerRow>`${sql.join(arms.slice(i, i + ARMS_PER_STATEMENT), sql` union all `)}`;
    for (const r of (await q.execute(db)).rows) {
      if (r.kind === 'k' && r.id) l.keys.add(r.id);
      else if (r.kind === 'a') l.accounts.add(r.id!);
      else if (r.kind === 's') {
        l.balance.set(r.id!, Number(r.b ?? 0));
        l.spend.set(r.id!, Number(r.s ?? 0));
      } else if (r.kind === 't')
        l.tiers.set(r.id!, {
          customer_id: r.id!,
          tier: r.tier,
          basis: r.basis as TierStateTable['basis'],
          basis_id: r.basis_id!,
          qualifying_spend_minor: Number(r.q),
          updated_at: Number(r.u),
        });
    }
  }
}

/** One SELECT of the lookup (its own table, the common row), joined by UNION ALL. */
type LedgerArm = RawBuilder<unknown>;

/** Arms per statement (each with at most CHUNK values; SQLite allows 500 arms and 32,766 values). */
const ARMS_PER_STATEMENT = 16;

/** What a run of orders writes, gathered in memory and written with multi-row statements. */
export interface LedgerWrites {
  entries: LedgerEntry[];
  tiers: TierStateTable[];
  /** Accounts known to have their row (`BatchLedger.accounts`): not inserted again; grows as rows are written. */
  accounts?: Set<string>;
}

/**
 * Writes the accounts, entries and tier rows of a run. An entry whose key another writer stored
 * since the run loaded (a backfill beside the engine) fails the batch, which the apply loop
 * retries: the retry sees the key and earns nothing twice, nor forwards the order twice.
 */
export async function writeLedgerWrites(db: Db, w: LedgerWrites, now: number): Promise<void> {
  const missing = w.entries.map((e) => e.account_id).filter((a) => !w.accounts?.has(a));
  await ensureAccounts(db, missing, now);
  for (const a of missing) w.accounts?.add(a);
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
