import { createHash } from 'node:crypto';
import { type Kysely, PostgresAdapter, type RawBuilder, sql } from 'kysely';
import { normalizeEmail } from '../canonical/customer.ts';
import { chunks } from '../db/chunks.ts';
import type { Database, TierStateTable } from '../db/schema.ts';
import { toMembership, type Membership } from '../households/membership-store.ts';
import { ensureAccounts, entryRow, type LedgerEntry, spendsSince } from './ledger-store.ts';
import { periodAt } from './order-batch.ts';
import { earnEntry, earnKey } from './order-ledger.ts';
import type { ExportedOrder } from './orders-csv.ts';
import type { LoyaltySettings } from './settings.ts';
import { tierBasisOf, tierChangesFor, writeTierRows, type TierBasis, type TierChange } from './tier-store.ts';

type Db = Kysely<Database>;

export interface Bucket {
  orders: number;
  /** Net order amount (total less refunds), major units. */
  amount: number;
}

/** What a backfill did (the same report as the per-order path, `flows/backfill.ts`). */
export interface BulkBackfillReport {
  orders: number;
  line_rows: number;
  credited: Bucket & { points: number; to_household_pools: number; to_individuals: number };
  /** Orders the ledger already had (a webhook earned them, or an earlier backfill). */
  already_credited: Bucket;
  /** Cancelled or fully refunded: nothing to earn. */
  not_earning: Bucket;
  unrecoverable: {
    no_linkable_customer: Bucket;
    household_history_unknown: Bucket;
    total: Bucket;
    /** Unrecoverable amount as a share of all earning amount. */
    share_of_amount: number;
  };
  currencies: string[];
  tier_changes: number;
  /** Orders skipped because an interrupted earlier run of the same `run` committed them (not in the buckets). */
  resumed_after: number;
  /** Transactions written (one per batch of orders, then one per batch of tier re-evaluations). */
  transactions: number;
}

export interface BulkBackfillOptions {
  /** The storefront the orders come from (their idempotency keys name it, as its webhooks do). */
  source: string;
  now: number;
  settings: LoyaltySettings;
  /**
   * Names the run for its cursor: after each committed batch the number of orders done is stored
   * under this name, and a run of the same name (same orders, same order) resumes after it. The
   * cursor is removed when the run finishes, so a later re-run replays (and credits nothing twice).
   */
  run: string;
  /** Orders per transaction (default: 5000 on PostgreSQL, 1000 on SQLite; see batchSize()). */
  batch?: number;
  /**
   * Called in the transaction that stores tier changes (the caller queues what follows a change:
   * `tier.changed` webhooks, identity pushes; domains do not import flows).
   */
  onTierChanges?: (trx: Db, changes: TierChange[]) => Promise<void>;
  /** Progress: orders seen so far (after each committed batch). */
  onProgress?: (orders: number) => void;
}

type Outcome = 'credited_pool' | 'credited_individual' | 'already' | 'not_earning' | 'no_customer' | 'history_unknown';

const CURSOR_CONNECTOR = 'loyalty_backfill';
/** Rows per multi-row statement: 17 columns x 1000 stays under both dialects' parameter limits. */
const ROWS = 1000;
/** Customers per transaction of the tier re-evaluation. */
const IN = 2000;
/**
 * Values per `in (...)` lookup. With 2,000 e-mails against 200,000 customers PostgreSQL (default
 * random_page_cost 4) planned a parallel sequential scan: 236 ms, against 7.6 ms through the
 * index; at 250 values, given statistics (refreshStatistics()), the index wins by a wide margin at
 * any table size. SQLite always uses the index; the extra statements cost it little.
 */
const LOOKUP = 250;

/**
 * The bulk path of `hearth loyalty backfill`: the rules of `backfillOrders` (flows/backfill.ts),
 * applied a batch of orders at a time in one transaction with a handful of set statements (the
 * customers of the batch by e-mail, the keys the ledger already holds, the membership periods,
 * multi-row inserts of accounts and entries), instead of a dozen round trips per order. Each
 * order earns what it would have earned when placed; an order whose key (or by-name twin) is in
 * the ledger earns nothing; only earn entries are appended (adjustments, redemptions and
 * reversals are never touched). Tiers of the credited customers are re-evaluated at the end, set
 * by set. Orders are streamed (an iterable or async iterable), so memory stays flat.
 */
export async function bulkBackfillOrders(
  db: Db,
  orders: Iterable<ExportedOrder> | AsyncIterable<ExportedOrder>,
  o: BulkBackfillOptions,
): Promise<BulkBackfillReport> {
  const report = emptyReport();
  const currencies = new Set<string>();
  const touched = new Set<string>();
  const size = o.batch ?? batchSize(db);
  await refreshStatistics(db, sql`customers, household_members`);
  const skip = await readCursor(db, o.run);
  let seen = 0;
  let batch: ExportedOrder[] = [];
  const flush = async () => {
    const b = batch;
    batch = [];
    if (b.length === 0) return;
    await db.transaction().execute(async (trx) => {
      await replayBatch(trx, b, o, report, touched);
      await writeCursor(trx, o.run, seen, o.now);
    });
    report.transactions++;
    o.onProgress?.(seen);
  };
  let skipped: ExportedOrder[] = [];
  for await (const order of orders) {
    seen++;
    report.orders++;
    report.line_rows += order.line_rows;
    if (order.currency) currencies.add(order.currency);
    if (seen <= skip) {
      skipped.push(order);
      if (skipped.length >= size) {
        await touchSkipped(db, skipped, o.source, touched);
        skipped = [];
      }
      report.resumed_after++;
      continue;
    }
    batch.push(order);
    if (batch.length >= size) await flush();
  }
  await touchSkipped(db, skipped, o.source, touched);
  await flush();
  // The ledger grew by the whole run: its statistics (if any) describe the table before it, and
  // the tier phase's spend lookups by account scanned it (1M orders: tier phase 80.5 s -> 7.2 s).
  await refreshStatistics(db, sql`ledger_entries, tier_state`);
  report.tier_changes = await reevaluateTiersBulk(db, [...touched], o, () => report.transactions++);
  await db
    .deleteFrom('connector_cursors')
    .where('connector', '=', CURSOR_CONNECTOR)
    .where('stream', '=', o.run)
    .execute();
  report.currencies = [...currencies].sort();
  finishBackfillReport(report);
  return report;
}

/**
 * Orders per transaction by dialect. PostgreSQL pays a round trip per statement, so large batches.
 * SQLite runs in this process, and what a batch holds outlives the young generation's collections
 * into the old one: 1M orders in batches of 5000 left RSS at 453-579 MB from ~298 MB (median
 * 540), in batches of 1000 at 339-561 (median ~400) at no lower rate (six runs each, 3 December).
 */
function batchSize(db: Db): number {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 5000 : 1000;
}

/** A run name for these orders: the same orders in the same order (and source) give the same name. */
export function runNameOf(orders: readonly ExportedOrder[], source: string): string {
  const h = createHash('sha256').update(source);
  for (const x of orders) h.update(`\n${x.name}\t${x.id ?? ''}\t${x.created_at}\t${x.total_minor}`);
  return `${source}:${h.digest('hex').slice(0, 32)}`;
}

async function readCursor(db: Db, run: string): Promise<number> {
  const row = await db
    .selectFrom('connector_cursors')
    .select('position')
    .where('connector', '=', CURSOR_CONNECTOR)
    .where('stream', '=', run)
    .executeTakeFirst();
  return row?.position ? Number(row.position) : 0;
}

async function writeCursor(trx: Db, run: string, done: number, now: number): Promise<void> {
  await trx
    .insertInto('connector_cursors')
    .values({ connector: CURSOR_CONNECTOR, stream: run, position: String(done), repull_pending: 0, updated_at: now })
    .onConflict((oc) => oc.columns(['connector', 'stream']).doUpdateSet({ position: String(done), updated_at: now }))
    .execute();
}

/**
 * PostgreSQL: statistics for the tables the batches look up by long key lists. Without them (a
 * freshly loaded database, or autovacuum off) the planner gives each value of an `in (...)` on a
 * non-unique column a default selectivity of 0.5%, so every lookup of 250 e-mails scanned all the
 * customers: a 1M-order backfill took 291-295 s on an idle machine (runs O and P), 400k orders 63.3
 * s against 37.7 s with this. ANALYZE reads a sample (under a second at 200,000 customers) and is
 * what autovacuum would have done.
 */
async function refreshStatistics(db: Db, tables: RawBuilder<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) await sql`ANALYZE ${tables}`.execute(db);
}

/** Surviving customer id by normalized e-mail (the lowest id holding it, as the per-order path picks). */
async function customersByEmail(db: Db, emails: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const part of chunks([...new Set(emails)], LOOKUP)) {
    const rows = await db
      .selectFrom('customers')
      .select(['id', 'merged_into', 'email_normalized'])
      .where('email_normalized', 'in', part)
      .orderBy('id')
      .execute();
    for (const r of rows)
      if (r.email_normalized && !out.has(r.email_normalized)) out.set(r.email_normalized, r.merged_into ?? r.id);
  }
  return out;
}

async function keysPresent(db: Db, keys: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const part of chunks([...new Set(keys)], LOOKUP)) {
    const rows = await db
      .selectFrom('ledger_entries')
      .select('idempotency_key')
      .where('idempotency_key', 'in', part)
      .execute();
    for (const r of rows) if (r.idempotency_key) out.add(r.idempotency_key);
  }
  return out;
}

/** Order names some earn entry already carries (an export without ids keys by name unless earned by id). */
async function earnedNames(db: Db, names: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const part of chunks([...new Set(names)], LOOKUP)) {
    const rows = await db
      .selectFrom('ledger_entries')
      .select('order_name')
      .where('kind', '=', 'earn')
      .where('order_name', 'in', part)
      .execute();
    for (const r of rows) if (r.order_name) out.add(r.order_name);
  }
  return out;
}

async function periodsOf(db: Db, customers: string[]): Promise<Map<string, Membership[]>> {
  const out = new Map<string, Membership[]>();
  for (const part of chunks([...new Set(customers)], LOOKUP)) {
    const rows = await db.selectFrom('household_members').selectAll().where('customer_id', 'in', part).execute();
    for (const r of rows) {
      const list = out.get(r.customer_id);
      if (list) list.push(toMembership(r));
      else out.set(r.customer_id, [toMembership(r)]);
    }
  }
  return out;
}

/** The reference of an order: its id, else its name (`name:#1001`), null when the ledger has it by name already. */
function refOf(o: ExportedOrder, named: Set<string>): string | null {
  if (o.id !== null) return o.id;
  return named.has(o.name) ? null : `name:${o.name}`;
}

async function replayBatch(
  trx: Db,
  batch: ExportedOrder[],
  o: BulkBackfillOptions,
  report: BulkBackfillReport,
  touched: Set<string>,
): Promise<void> {
  const earning: ExportedOrder[] = [];
  for (const x of batch)
    if (x.cancelled || x.total_minor - x.refunded_minor <= 0) count(report, 'not_earning', x);
    else earning.push(x);
  const emails = new Map(earning.map((x) => [x, normalizeEmail(x.email)]));
  const customers = await customersByEmail(
    trx,
    [...emails.values()].filter((e): e is string => e !== null),
  );
  const named = await earnedNames(
    trx,
    earning.filter((x) => x.id === null).map((x) => x.name),
  );
  const guardKeys: string[] = [];
  for (const x of earning) {
    const ref = refOf(x, named);
    if (ref === null) continue;
    guardKeys.push(earnKey(o.source, ref));
    if (!ref.startsWith('name:')) guardKeys.push(earnKey(o.source, `name:${x.name}`));
  }
  const keys = await keysPresent(trx, guardKeys);
  const periods = await periodsOf(trx, [...customers.values()]);
  const pending: { order: ExportedOrder; entry: LedgerEntry; customer: string }[] = [];
  for (const x of earning) {
    const email = emails.get(x);
    const customer = email ? customers.get(email) : undefined;
    if (!customer) {
      count(report, 'no_customer', x);
      continue;
    }
    const ref = refOf(x, named);
    const own = ref === null ? null : earnKey(o.source, ref);
    if (own === null || keys.has(own)) {
      count(report, 'already', x);
      continue;
    }
    const mine = periods.get(customer);
    const membership = periodAt(mine, x.created_at);
    // A member whose first known period begins after the order: where they belonged then is unknown.
    if (!membership && mine !== undefined && mine.every((p) => p.valid_from > x.created_at)) {
      count(report, 'history_unknown', x);
      continue;
    }
    if (!ref!.startsWith('name:') && keys.has(earnKey(o.source, `name:${x.name}`))) {
      count(report, 'already', x);
      continue;
    }
    const facts = {
      source: o.source,
      order_ref: ref!,
      order_name: x.name,
      customer_id: customer,
      total_minor: x.total_minor - x.refunded_minor,
      currency: x.currency,
      occurred_at: x.created_at,
    };
    const entry = entryRow(
      earnEntry(facts, membership, o.settings, { source: 'backfill', actor: 'cli:backfill' }),
      o.now,
    );
    keys.add(own); // a second order of the file with the same id earns nothing
    pending.push({ order: x, entry, customer });
  }
  await ensureAccountsBulk(
    trx,
    pending.map((p) => p.entry.account_id),
    o.now,
  );
  const written = new Set<string>();
  for (const part of chunks(pending, ROWS)) {
    const rows = await trx
      .insertInto('ledger_entries')
      .values(part.map((p) => p.entry))
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .returning('idempotency_key')
      .execute();
    for (const r of rows) if (r.idempotency_key) written.add(r.idempotency_key);
  }
  for (const p of pending) {
    // Earned meanwhile by another writer (a webhook beside the backfill): already in the ledger.
    if (!written.has(p.entry.idempotency_key!)) {
      count(report, 'already', p.order);
      continue;
    }
    count(report, p.entry.account_id === p.customer ? 'credited_individual' : 'credited_pool', p.order);
    report.credited.points += p.entry.points;
    touched.add(p.customer);
  }
}

async function ensureAccountsBulk(trx: Db, ids: string[], now: number): Promise<void> {
  const unique = [...new Set(ids)];
  for (const part of chunks(unique, ROWS)) await ensureAccounts(trx, part, now);
}

/**
 * On resume: the customers the skipped orders credited (their earn entry is a backfill's), so
 * their tiers are re-evaluated at the end as if the run had not stopped.
 */
async function touchSkipped(db: Db, skipped: ExportedOrder[], source: string, touched: Set<string>): Promise<void> {
  if (skipped.length === 0) return;
  const keys = skipped.flatMap((x) => [
    ...(x.id !== null ? [earnKey(source, x.id)] : []),
    earnKey(source, `name:${x.name}`),
  ]);
  for (const part of chunks(keys, LOOKUP)) {
    const rows = await db
      .selectFrom('ledger_entries')
      .select('customer_id')
      .where('idempotency_key', 'in', part)
      .where('source', '=', 'backfill')
      .execute();
    for (const r of rows) if (r.customer_id) touched.add(r.customer_id);
  }
}

/**
 * `storeTierChanges` for many customers, set by set: per slice of customers their open periods,
 * the open members of their households, the window spend of every basis (one grouped statement),
 * the stored tiers; the changed rows written with multi-row upserts. Returns the number of changes.
 */
async function reevaluateTiersBulk(
  db: Db,
  customers: string[],
  o: BulkBackfillOptions,
  onTransaction: () => void,
): Promise<number> {
  let changed = 0;
  const since = o.now - o.settings.tier_window_ms;
  for (const slice of chunks(customers.sort(), IN)) {
    await db.transaction().execute(async (trx) => {
      const bases = new Map<string, TierBasis>();
      const open = [];
      for (const part of chunks(slice, LOOKUP))
        open.push(
          ...(await trx
            .selectFrom('household_members')
            .selectAll()
            .where('customer_id', 'in', part)
            .where('valid_to', 'is', null)
            .execute()),
        );
      const byCustomer = new Map<string, Membership[]>();
      for (const r of open) byCustomer.set(r.customer_id, [...(byCustomer.get(r.customer_id) ?? []), toMembership(r)]);
      const households = new Set<string>();
      for (const id of slice) {
        const m = periodAt(byCustomer.get(id));
        bases.set(id, tierBasisOf(m, id));
        if (m) households.add(m.household_id);
      }
      for (const part of chunks([...households], LOOKUP)) {
        const rows = await trx
          .selectFrom('household_members')
          .selectAll()
          .where('household_id', 'in', part)
          .where('valid_to', 'is', null)
          .execute();
        for (const r of rows) bases.set(r.customer_id, tierBasisOf(toMembership(r), r.customer_id));
      }
      const spend = await spendsSince(trx, [...new Set([...bases.values()].map((b) => b.basis_id))], since);
      const stored = new Map<string, TierStateTable>();
      for (const part of chunks([...bases.keys()], LOOKUP)) {
        const rows = await trx.selectFrom('tier_state').selectAll().where('customer_id', 'in', part).execute();
        for (const r of rows) stored.set(r.customer_id, r);
      }
      const { changes, rows } = tierChangesFor(bases, (id) => spend.get(id) ?? 0, stored, o.now, o.settings);
      await writeTierRows(trx, rows);
      if (changes.length > 0) await o.onTierChanges?.(trx, changes);
      changed += changes.length;
    });
    onTransaction();
  }
  return changed;
}

const bucket = (): Bucket => ({ orders: 0, amount: 0 });

function emptyReport(): BulkBackfillReport {
  return {
    orders: 0,
    line_rows: 0,
    credited: { ...bucket(), points: 0, to_household_pools: 0, to_individuals: 0 },
    already_credited: bucket(),
    not_earning: bucket(),
    unrecoverable: {
      no_linkable_customer: bucket(),
      household_history_unknown: bucket(),
      total: bucket(),
      share_of_amount: 0,
    },
    currencies: [],
    tier_changes: 0,
    resumed_after: 0,
    transactions: 0,
  };
}

function add(b: Bucket, amountMinor: number): void {
  b.orders++;
  b.amount += amountMinor;
}

function count(r: BulkBackfillReport, outcome: Outcome, o: ExportedOrder): void {
  const net = Math.max(0, o.total_minor - o.refunded_minor);
  switch (outcome) {
    case 'credited_pool':
    case 'credited_individual':
      add(r.credited, net);
      if (outcome === 'credited_pool') r.credited.to_household_pools++;
      else r.credited.to_individuals++;
      return;
    case 'already':
      return add(r.already_credited, net);
    case 'not_earning':
      return add(r.not_earning, o.total_minor);
    case 'no_customer':
      return add(r.unrecoverable.no_linkable_customer, net);
    case 'history_unknown':
      return add(r.unrecoverable.household_history_unknown, net);
  }
}

/** The buckets both backfill paths report (this one and the per-order `flows/backfill.ts`). */
export type BackfillBuckets = Pick<
  BulkBackfillReport,
  'credited' | 'already_credited' | 'not_earning' | 'unrecoverable'
>;

/** Amounts to major units; totals and the unrecoverable share. */
export function finishBackfillReport(r: BackfillBuckets): void {
  const u = r.unrecoverable;
  u.total = {
    orders: u.no_linkable_customer.orders + u.household_history_unknown.orders,
    amount: u.no_linkable_customer.amount + u.household_history_unknown.amount,
  };
  const earning = r.credited.amount + r.already_credited.amount + u.total.amount;
  u.share_of_amount = earning === 0 ? 0 : Math.round((u.total.amount / earning) * 10_000) / 10_000;
  for (const b of [
    r.credited,
    r.already_credited,
    r.not_earning,
    u.no_linkable_customer,
    u.household_history_unknown,
    u.total,
  ])
    b.amount = b.amount / 100;
}
