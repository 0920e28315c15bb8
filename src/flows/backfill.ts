import type { Kysely } from 'kysely';
import { normalizeEmail } from '../canonical/customer.ts';
import type { Database } from '../db/schema.ts';
import { membershipAt } from '../households/membership-store.ts';
import { finishBackfillReport } from '../loyalty/bulk-backfill.ts';
import { entryByKey } from '../loyalty/ledger-store.ts';
import { earnForOrder, earnKey } from '../loyalty/order-ledger.ts';
import type { ExportedOrder } from '../loyalty/orders-csv.ts';
import type { LoyaltySettings } from '../loyalty/settings.ts';
import { reevaluateTiers } from './tiers.ts';

type Db = Kysely<Database>;

export interface Bucket {
  orders: number;
  /** Net order amount (total less refunds), major units. */
  amount: number;
}

export interface BackfillReport {
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
}

type Outcome = 'credited_pool' | 'credited_individual' | 'already' | 'not_earning' | 'no_customer' | 'history_unknown';

const CHUNK = 200;

/**
 * Replays exported orders under the membership timeline: each order earns what it would have
 * earned when placed (pool for members opted in at that time, else the individual), idempotently
 * (the same key as the live webhook, so nothing is credited twice). Orders with no customer Hearth
 * knows, and orders of household members from before their known history starts, are reported
 * as the unrecoverable portion, not guessed. It only appends earn entries: manual adjustments,
 * redemptions and reversals are never touched. Tiers are re-evaluated at the end.
 */
/** `source`: the storefront the export came from (its orders' idempotency keys name it, as its webhooks do). */
export async function backfillOrders(
  db: Db,
  orders: ExportedOrder[],
  now: number,
  s: LoyaltySettings,
  source: string,
): Promise<BackfillReport> {
  const report = emptyReport(orders);
  const touched = new Set<string>();
  for (let i = 0; i < orders.length; i += CHUNK) {
    await db.transaction().execute(async (trx) => {
      for (const o of orders.slice(i, i + CHUNK)) {
        const { outcome, customer, points } = await replayOne(trx, o, now, s, source);
        count(report, outcome, o);
        report.credited.points += points ?? 0;
        if (customer && outcome.startsWith('credited')) touched.add(customer);
      }
    });
  }
  if (touched.size > 0)
    report.tier_changes = (
      await db.transaction().execute((trx) => reevaluateTiers(trx, [...touched], now, s, { source: 'backfill' }))
    ).length;
  finishBackfillReport(report);
  return report;
}

async function replayOne(
  db: Db,
  o: ExportedOrder,
  now: number,
  s: LoyaltySettings,
  source: string,
): Promise<{ outcome: Outcome; customer?: string; points?: number }> {
  const net = o.total_minor - o.refunded_minor;
  if (o.cancelled || net <= 0) return { outcome: 'not_earning' };
  const customer = await customerByEmail(db, o.email);
  if (!customer) return { outcome: 'no_customer' };
  // An order the ledger already has is counted as such first, whatever is known of its household then.
  const ref = o.id ?? (await refByName(db, o.name));
  if (ref === null || (await entryByKey(db, earnKey(source, ref)))) return { outcome: 'already', customer };
  if (!(await membershipAt(db, customer, o.created_at)) && (await historyStartsAfter(db, customer, o.created_at)))
    return { outcome: 'history_unknown', customer };
  const earn = await earnForOrder(
    db,
    {
      source,
      order_ref: ref,
      order_name: o.name,
      customer_id: customer,
      total_minor: net,
      currency: o.currency,
      occurred_at: o.created_at,
    },
    now,
    s,
    { source: 'backfill', actor: 'cli:backfill' },
  );
  if (!earn.entry) return { outcome: 'already', customer };
  return {
    outcome: earn.account_id === customer ? 'credited_individual' : 'credited_pool',
    customer,
    points: earn.points,
  };
}

/** The surviving customer with this email, if Hearth knows one. */
async function customerByEmail(db: Db, email: string | null): Promise<string | null> {
  const normalized = normalizeEmail(email);
  if (!normalized) return null;
  const row = await db
    .selectFrom('customers')
    .select(['id', 'merged_into'])
    .where('email_normalized', '=', normalized)
    .orderBy('id')
    .executeTakeFirst();
  return row ? (row.merged_into ?? row.id) : null;
}

/** A household member whose first known period begins after the order: where they belonged then is unknown. */
async function historyStartsAfter(db: Db, customerId: string, at: number): Promise<boolean> {
  const first = await db
    .selectFrom('household_members')
    .select('valid_from')
    .where('customer_id', '=', customerId)
    .orderBy('valid_from')
    .executeTakeFirst();
  return first !== undefined && first.valid_from > at;
}

/** Without an `Id` column the order is keyed by name, unless the ledger already has it under its id. */
async function refByName(db: Db, name: string): Promise<string | null> {
  const earned = await db
    .selectFrom('ledger_entries')
    .select('id')
    .where('kind', '=', 'earn')
    .where('order_name', '=', name)
    .executeTakeFirst();
  return earned ? null : `name:${name}`;
}

const bucket = (): Bucket => ({ orders: 0, amount: 0 });

function emptyReport(orders: ExportedOrder[]): BackfillReport {
  return {
    orders: orders.length,
    line_rows: orders.reduce((n, o) => n + o.line_rows, 0),
    credited: { ...bucket(), points: 0, to_household_pools: 0, to_individuals: 0 },
    already_credited: bucket(),
    not_earning: bucket(),
    unrecoverable: {
      no_linkable_customer: bucket(),
      household_history_unknown: bucket(),
      total: bucket(),
      share_of_amount: 0,
    },
    currencies: [...new Set(orders.map((o) => o.currency).filter((c): c is string => Boolean(c)))].sort(),
    tier_changes: 0,
  };
}

function add(b: Bucket, o: ExportedOrder, amountMinor: number): void {
  b.orders++;
  b.amount += amountMinor;
}

function count(r: BackfillReport, outcome: Outcome, o: ExportedOrder): void {
  const net = Math.max(0, o.total_minor - o.refunded_minor);
  switch (outcome) {
    case 'credited_pool':
    case 'credited_individual':
      add(r.credited, o, net);
      if (outcome === 'credited_pool') r.credited.to_household_pools++;
      else r.credited.to_individuals++;
      return;
    case 'already':
      return add(r.already_credited, o, net);
    case 'not_earning':
      return add(r.not_earning, o, o.total_minor);
    case 'no_customer':
      return add(r.unrecoverable.no_linkable_customer, o, net);
    case 'history_unknown':
      return add(r.unrecoverable.household_history_unknown, o, net);
  }
}
