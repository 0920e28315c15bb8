import type { CanonicalEvent } from '../src/canonical/types.ts';
import { parseConfig } from '../src/config/loader.ts';
import { addCustomer, addHousehold, join } from '../test-support/loyalty-fixtures.ts';
import { loyaltySettings } from '../src/config/derive.ts';
import { engineContext } from '../src/runtime.ts';
import { storeDeliveries } from '../src/engine/inbox.ts';
import {
  checkoutEvent,
  drainInbox,
  orderEvent,
  postgresBenchDb,
  quiesce,
  round,
  sqliteBenchDb,
  timedBatches,
  type BenchDb,
} from './db-fixtures.ts';
import { repeated } from './procs.ts';

/**
 * Orders applied per second through the points ledger (resolve the customer, earn into the
 * household pool under the membership at order time, re-evaluate every member's tier, queue
 * `order.enriched` and `tier.changed`), for 1,000 customers in opted-in households of 1, 5 and 50
 * (tier re-evaluation cost as households grow). Baselines in the same run: the same number of
 * checkout address events through the same engine (no ledger), and the database's raw batched
 * insert rate into the ledger table. Median of `runs` runs; CPU is this process's (the engine's)
 * per order: on PostgreSQL the server's own CPU is not included.
 */
export async function runLoyaltyBench(
  opts: { orders?: number; customers?: number; runs?: number } = {},
): Promise<Record<string, unknown>> {
  // 25,000: at 5,000 a SQLite run lasted half a second and two identical runs differed by 28%; at
  // 10,000 (about 1 s) the rounds of one full run still spread 6,822-11,914/s (run H, households of 5).
  const orders = opts.orders ?? 25_000;
  const customers = opts.customers ?? 1000;
  return { orders, customers, ...(await repeated(opts.runs ?? 3, () => loyaltyRun(orders, customers))) };
}

async function loyaltyRun(orders: number, customers: number): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, open] of [
    ['sqlite', sqliteBenchDb],
    ['postgres', postgresBenchDb],
  ] as const) {
    const result: Record<string, unknown> = {};
    for (const size of [1, 5, 50]) {
      const bdb = await open();
      if (!bdb) break;
      try {
        await seedHouseholds(bdb, customers, size);
        result[`household_of_${size}`] = await applyAll(bdb, orders, (i) => orderEvent(i, customers));
        if (size === 5) {
          result.baseline_address_events = await applyAll(bdb, orders, (i) => checkoutEvent(i, 900_000, 'addr'));
          result.baseline_raw_ledger_insert = await rawLedgerInserts(bdb, orders);
        }
      } finally {
        await bdb.drop();
      }
    }
    if (Object.keys(result).length) out[name] = result;
  }
  return out;
}

const config = parseConfig({
  connectors: {
    webhook: {
      targets: [
        {
          name: 'loyalty',
          url: 'http://127.0.0.1:1/x',
          secret: 'whsec_bench_1',
          events: ['order.enriched', 'tier.changed', 'address.corrected'],
        },
      ],
    },
  },
});

async function seedHouseholds(bdb: BenchDb, n: number, size: number): Promise<void> {
  const db = bdb.hdb.db;
  const now = Date.now() - 60_000;
  const s = loyaltySettings(config);
  for (let h = 0; h < n / size; h++) {
    const hh = await addHousehold(db, `bench-${h}`, now);
    for (let k = 0; k < size; k++) {
      const id = await addCustomer(db, `member${h * size + k}@bench.example`, now);
      await join(db, id, { household_id: hh, role: k === 0 ? 'head' : 'member', opt_in: true }, now, s);
    }
  }
}

async function applyAll(bdb: BenchDb, n: number, make: (i: number) => CanonicalEvent) {
  const earnedBefore = await earnCount(bdb);
  const prefix = `${Math.random().toString(36).slice(2, 8)}-`;
  for (let i = 0; i < n; i += 1000) {
    await storeDeliveries(
      bdb.hdb.db,
      'shopify',
      Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ delivery_id: prefix + (i + k), event: make(i + k) })),
      Date.now(),
    );
  }
  await quiesce(bdb);
  const cpu0 = process.cpuUsage();
  const { applied, seconds } = await drainInbox(bdb.hdb, engineContext(config));
  const cpu = process.cpuUsage(cpu0);
  return {
    applied,
    earn_entries: (await earnCount(bdb)) - earnedBefore,
    seconds: round(seconds, 2),
    per_second: round(applied / seconds, 0),
    cpu_ms_per_event: round((cpu.user + cpu.system) / 1000 / applied, 3),
  };
}

/** The database's own rate for the ledger table: batched plain inserts of earn-shaped rows, at least 2 s. */
async function rawLedgerInserts(bdb: BenchDb, n: number) {
  await quiesce(bdb);
  return timedBatches(n, 2, async (i) => {
    const rows = Array.from({ length: 500 }, (_, k) => ({
      id: `led_raw_${i + k}`,
      kind: 'adjust' as const,
      account_id: `cus_raw_${(i + k) % 1000}`,
      customer_id: `cus_raw_${(i + k) % 1000}`,
      household_id: null,
      points: 10,
      spend_minor: 0,
      currency: null,
      order_ref: null,
      order_name: null,
      ref_entry_id: null,
      source: 'bench',
      actor: 'bench',
      reason: 'raw insert rate',
      idempotency_key: `raw:${i + k}`,
      occurred_at: Date.now(),
      created_at: Date.now(),
    }));
    await bdb.hdb.db.transaction().execute((trx) => trx.insertInto('ledger_entries').values(rows).execute());
    return rows.length;
  });
}

async function earnCount(bdb: BenchDb): Promise<number> {
  const row = await bdb.hdb.db
    .selectFrom('ledger_entries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('kind', '=', 'earn')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
