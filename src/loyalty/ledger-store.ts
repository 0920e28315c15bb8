import { type Kysely, sql } from 'kysely';
import { chunks } from '../db/chunks.ts';
import type { Database, LedgerEntriesTable, LedgerKind } from '../db/schema.ts';
import { newId } from '../ids.ts';

type Db = Kysely<Database>;

export type LedgerEntry = LedgerEntriesTable;

/** An entry to append; id and created_at are assigned here. */
export type NewEntry = Omit<
  LedgerEntriesTable,
  | 'id'
  | 'created_at'
  | 'spend_minor'
  | 'currency'
  | 'order_ref'
  | 'order_name'
  | 'ref_entry_id'
  | 'reason'
  | 'idempotency_key'
  | 'household_id'
> &
  Partial<
    Pick<
      LedgerEntriesTable,
      | 'spend_minor'
      | 'currency'
      | 'order_ref'
      | 'order_name'
      | 'ref_entry_id'
      | 'reason'
      | 'idempotency_key'
      | 'household_id'
    >
  >;

export const isHouseholdAccount = (accountId: string): boolean => accountId.startsWith('hh_');

/**
 * Appends one entry. With an idempotency key that is already in the ledger nothing is written
 * and null is returned: an order earns once however often its webhook repeats.
 */
export async function appendEntry(db: Db, e: NewEntry, now: number): Promise<LedgerEntry | null> {
  const row = entryRow(e, now);
  await ensureAccount(db, row.account_id, now);
  const res = await db
    .insertInto('ledger_entries')
    .values(row)
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1 ? row : null;
}

/** The row an entry is stored as (a fresh id, absent optional fields as null). */
export function entryRow(e: NewEntry, now: number): LedgerEntry {
  return {
    id: newId('led', now),
    kind: e.kind,
    account_id: e.account_id,
    customer_id: e.customer_id,
    household_id: e.household_id ?? null,
    points: e.points,
    spend_minor: e.spend_minor ?? 0,
    currency: e.currency ?? null,
    order_ref: e.order_ref ?? null,
    order_name: e.order_name ?? null,
    ref_entry_id: e.ref_entry_id ?? null,
    source: e.source,
    actor: e.actor,
    reason: e.reason ?? null,
    idempotency_key: e.idempotency_key ?? null,
    occurred_at: e.occurred_at,
    created_at: now,
  };
}

export async function entryByKey(db: Db, key: string): Promise<LedgerEntry | undefined> {
  return db.selectFrom('ledger_entries').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
}

async function ensureAccount(db: Db, accountId: string, now: number): Promise<void> {
  await ensureAccounts(db, [accountId], now);
}

/** Creates the account rows that do not exist yet (one statement per 200 accounts). */
export async function ensureAccounts(db: Db, accountIds: readonly string[], now: number): Promise<void> {
  const rows = [...new Set(accountIds)].map((id) => ({
    id,
    kind: isHouseholdAccount(id) ? ('household' as const) : ('customer' as const),
    lock_seq: 0,
    created_at: now,
  }));
  for (let i = 0; i < rows.length; i += 200)
    await db
      .insertInto('loyalty_accounts')
      .values(rows.slice(i, i + 200))
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
}

/**
 * Serialises debits of one account until the transaction ends. An UPDATE takes the row lock on
 * PostgreSQL (a second debit waits, then reads the committed balance) and the write lock on
 * SQLite (one writer), so the same code holds on both dialects. Call it before reading the balance.
 */
export async function lockAccount(trx: Db, accountId: string, now: number): Promise<void> {
  await ensureAccount(trx, accountId, now);
  await trx
    .updateTable('loyalty_accounts')
    .set((eb) => ({ lock_seq: eb('lock_seq', '+', 1) }))
    .where('id', '=', accountId)
    .execute();
}

/** The balance of an account: the sum of its entries. */
export async function balanceOf(db: Db, accountId: string): Promise<number> {
  const row = await db
    .selectFrom('ledger_entries')
    .select((eb) => eb.fn.sum<number | string | null>('points').as('b'))
    .where('account_id', '=', accountId)
    .executeTakeFirst();
  return Number(row?.b ?? 0);
}

/** A household pool's balance (points of opted-in members, less redemptions and splits). */
export async function poolBalance(db: Db, householdId: string): Promise<number> {
  return balanceOf(db, householdId);
}

/** What one member contributed to an account, net (earns, reversals, their redemptions, transfers). */
export async function attributedBalance(db: Db, accountId: string, customerId: string): Promise<number> {
  const row = await db
    .selectFrom('ledger_entries')
    .select((eb) => eb.fn.sum<number | string | null>('points').as('b'))
    .where('account_id', '=', accountId)
    .where('customer_id', '=', customerId)
    .executeTakeFirst();
  return Number(row?.b ?? 0);
}

/** Qualifying spend credited to an account since `since` (minor units). */
export async function spendSince(db: Db, accountId: string, since: number): Promise<number> {
  const row = await db
    .selectFrom('ledger_entries')
    .select((eb) => eb.fn.sum<number | string | null>('spend_minor').as('s'))
    .where('account_id', '=', accountId)
    .where('occurred_at', '>', since)
    .executeTakeFirst();
  return Number(row?.s ?? 0);
}

/** An account's entries, oldest first, paged by id. */
export async function listEntries(
  db: Db,
  accountId: string,
  o: { after?: string | undefined; limit: number },
): Promise<LedgerEntry[]> {
  let q = db.selectFrom('ledger_entries').selectAll().where('account_id', '=', accountId).orderBy('id').limit(o.limit);
  if (o.after) q = q.where('id', '>', o.after);
  return q.execute();
}

export async function accountExists(db: Db, accountId: string): Promise<boolean> {
  return Boolean(await db.selectFrom('loyalty_accounts').select('id').where('id', '=', accountId).executeTakeFirst());
}

/** Entries of each kind, for the manual-adjustment rate. */
export async function entryCounts(db: Db): Promise<Record<LedgerKind, number>> {
  const rows = await db
    .selectFrom('ledger_entries')
    .select(['kind', (eb) => eb.fn.countAll<number | string>().as('n')])
    .groupBy('kind')
    .execute();
  const out: Record<LedgerKind, number> = { earn: 0, redeem: 0, adjust: 0, reverse: 0, expire: 0, transfer: 0 };
  for (const r of rows) out[r.kind] = Number(r.n);
  return out;
}

export interface AdjustmentRate {
  adjustments: number;
  entries: number;
  rate: number;
  threshold: number;
  alert: boolean;
}

/** Manual adjustments as a share of all ledger entries, against the alert threshold. */
export async function adjustmentRate(db: Db, threshold: number): Promise<AdjustmentRate> {
  const counts = await entryCounts(db);
  const entries = Object.values(counts).reduce((a, b) => a + b, 0);
  const rate = entries === 0 ? 0 : counts.adjust / entries;
  return { adjustments: counts.adjust, entries, rate, threshold, alert: rate > threshold };
}

/**
 * Qualifying spend of each account since `since` (accounts with none are absent), one grouped
 * statement per 500 accounts.
 */
export async function spendsSince(db: Db, accounts: readonly string[], since: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const part of chunks(accounts, 500)) {
    const rows = await db
      .selectFrom('ledger_entries')
      .select((eb) => ['account_id', eb.fn.sum<number | string | null>('spend_minor').as('s')])
      .where('account_id', 'in', part)
      .where('occurred_at', '>', since)
      .groupBy('account_id')
      .execute();
    for (const r of rows) out.set(r.account_id, Number(r.s ?? 0));
  }
  return out;
}

/**
 * Balance and qualifying spend since `since` of each account (every account listed; one without
 * entries: 0 and 0), one grouped statement per 500 accounts.
 */
export async function accountSums(
  db: Db,
  accounts: readonly string[],
  since: number,
): Promise<Map<string, { balance: number; spend: number }>> {
  const out = new Map(accounts.map((a) => [a, { balance: 0, spend: 0 }]));
  for (const part of chunks([...out.keys()], 500)) {
    const rows = await db
      .selectFrom('ledger_entries')
      .select((eb) => [
        'account_id',
        eb.fn.sum<number | string | null>('points').as('b'),
        eb.fn
          .sum<number | string | null>(
            sql`case when ${eb.ref('occurred_at')} > ${since} then ${eb.ref('spend_minor')} else 0 end`,
          )
          .as('s'),
      ])
      .where('account_id', 'in', part)
      .groupBy('account_id')
      .execute();
    for (const r of rows) out.set(r.account_id, { balance: Number(r.b ?? 0), spend: Number(r.s ?? 0) });
  }
  return out;
}
