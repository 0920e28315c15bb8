import { ledgerConfig, writebackConfig } from '../test-support/engine-configs.ts';
import type { CanonicalEvent } from '../src/canonical/types.ts';
import { loyaltySettings } from '../src/config/derive.ts';
import type { HearthDb } from '../src/db/database.ts';
import { applyPendingEvents } from '../src/engine/apply-loop.ts';
import { storeDeliveries } from '../src/engine/inbox.ts';
import { createEventApplier } from '../src/flows/apply-events.ts';
import type { EngineContext } from '../src/flows/context.ts';
import { engineContext } from '../src/runtime.ts';
import { addCustomer, addHousehold, join } from '../test-support/loyalty-fixtures.ts';
import { countingDb } from '../test-support/statement-count.ts';
import { checkoutEvent, orderEvent, postgresBenchDb, round, sqliteBenchDb, type BenchDb } from './db-fixtures.ts';

/**
 * SQL statements (round trips) the engine sends per applied event, by scenario, at batch size 1
 * and at one batch of all the events: deterministic, unlike events per second on a shared
 * machine. BEGIN and COMMIT are not counted (two per batch on top). `node bench/statements.ts`
 * prints the figures and, with --detail, the statements of the batch-size-1 runs by kind and table.
 */
export interface Scenario {
  name: string;
  /** Seeds the database (not counted) and returns the events to count. */
  setUp(bdb: BenchDb): Promise<CanonicalEvent[]>;
  ctx: EngineContext;
}

const N = 40;

const engineConfig = writebackConfig();
const loyaltyConfig = ledgerConfig();

/** A corrected address for an existing customer (same Shopify id and email as checkoutEvent i). */
function movedEvent(i: number): CanonicalEvent {
  const ev = checkoutEvent(i, 100_000, 'bench') as Extract<CanonicalEvent, { type: 'checkout.address_confirmed' }>;
  return { ...ev, address: { ...ev.address, line1: `${i} Oak Avenue`, line2: null } };
}

function contactUpdate(i: number): CanonicalEvent {
  return {
    type: 'contact.updated',
    source: 'hubspot',
    external_id: `hs-${i}`,
    contact: { email: `bench${i}@example.com`, phone: `+1512555${String(1000 + i).padStart(4, '0')}` },
    vendor_fields: { email: `bench${i}@example.com`, phone: `+1512555${String(1000 + i).padStart(4, '0')}` },
    origin_is_hearth: false,
    occurred_at: Date.now(),
  };
}

/** The bench's checkout customers, applied before counting (not counted). */
const seedCheckouts = (bdb: BenchDb) =>
  applyAll(
    bdb.hdb,
    engineContext(engineConfig),
    Array.from({ length: N }, (_, i) => checkoutEvent(i, 100_000, 'bench')),
    500,
  );

export const SCENARIOS: Scenario[] = [
  {
    name: 'checkout_new_customer',
    ctx: engineContext(engineConfig),
    setUp: async () => Array.from({ length: N }, (_, i) => checkoutEvent(i, 100_000, 'bench')),
  },
  {
    // Same name and delivery point as a customer known under another Shopify id and email: the
    // identity candidates are read and matched.
    name: 'checkout_new_record_with_candidate',
    ctx: engineContext(engineConfig),
    setUp: async (bdb) => {
      await applyAll(
        bdb.hdb,
        engineContext(engineConfig),
        Array.from({ length: N }, (_, i) => checkoutEvent(i, 200_000, 'seed')),
        500,
      );
      return Array.from({ length: N }, (_, i) => checkoutEvent(i, 100_000, 'bench'));
    },
  },
  {
    name: 'checkout_existing_customer',
    ctx: engineContext(engineConfig),
    setUp: async (bdb) => {
      await seedCheckouts(bdb);
      return Array.from({ length: N }, (_, i) => movedEvent(i));
    },
  },
  {
    name: 'crm_contact_update_existing',
    ctx: engineContext(engineConfig),
    setUp: async (bdb) => {
      await seedCheckouts(bdb);
      return Array.from({ length: N }, (_, i) => contactUpdate(i));
    },
  },
  ...[1, 5].map((size) => ({
    name: `order_household_of_${size}`,
    ctx: engineContext(loyaltyConfig),
    setUp: async (bdb: BenchDb) => {
      const db = bdb.hdb.db;
      const now = Date.now() - 60_000;
      const s = loyaltySettings(loyaltyConfig);
      const customers = 50;
      for (let h = 0; h < customers / size; h++) {
        const hh = await addHousehold(db, `bench-${h}`, now);
        for (let k = 0; k < size; k++) {
          const id = await addCustomer(db, `member${h * size + k}@bench.example`, now);
          await join(db, id, { household_id: hh, role: k === 0 ? 'head' : 'member', opt_in: true }, now, s);
        }
      }
      return Array.from({ length: N }, (_, i) => orderEvent(i, customers));
    },
  })),
];

async function applyAll(hdb: HearthDb, ctx: EngineContext, events: CanonicalEvent[], batch: number) {
  await store(hdb, events);
  return drain(hdb, ctx, batch);
}

async function store(hdb: HearthDb, events: CanonicalEvent[]): Promise<void> {
  const prefix = `${Math.random().toString(36).slice(2, 8)}-`;
  await storeDeliveries(
    hdb.db,
    'bench',
    events.map((event, i) => ({ delivery_id: `${prefix}${i}`, event })),
    Date.now(),
  );
}

async function drain(hdb: HearthDb, ctx: EngineContext, batch: number): Promise<number> {
  let applied = 0;
  for (;;) {
    const r = await applyPendingEvents(hdb, createEventApplier(ctx), batch, Date.now);
    if (r.outcomes.length === 0) break;
    applied += r.outcomes.length;
  }
  return applied;
}

/** Statements per event of one scenario on one database, at this batch size. */
export async function measure(open: () => Promise<BenchDb | null>, scenario: Scenario, batch: number) {
  const bdb = await open();
  if (!bdb) return null;
  try {
    await store(bdb.hdb, await scenario.setUp(bdb));
    const { hdb, counter } = countingDb(bdb.hdb);
    const applied = await drain(hdb, scenario.ctx, batch);
    // The read that ends the drain (an empty batch, after the lock on PostgreSQL) is no event's.
    const empty = bdb.hdb.caps.skipLocked ? 2 : 1;
    const total = counter.total - empty;
    counter.byLabel.set('select inbox_events', counter.byLabel.get('select inbox_events')! - 1);
    if (bdb.hdb.caps.skipLocked) {
      const lock = [...counter.byLabel.keys()].find((k) => k.includes('pg_advisory_xact_lock'))!;
      counter.byLabel.set(lock, counter.byLabel.get(lock)! - 1);
    }
    const byLabel = Object.fromEntries([...counter.byLabel].map(([k, v]) => [k, round(v / applied, 2)]));
    return { applied, statements: total, per_event: round(total / applied, 2), by_label: byLabel };
  } finally {
    await bdb.drop();
  }
}

export async function runStatementsBench(opts: { detail?: boolean } = {}): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { events_per_scenario: N, note: 'BEGIN/COMMIT not counted' };
  for (const [name, open] of [
    ['sqlite', sqliteBenchDb],
    ['postgres', postgresBenchDb],
  ] as const) {
    const perDialect: Record<string, unknown> = {};
    for (const s of SCENARIOS) {
      const one = await measure(open, s, 1);
      if (!one) break;
      const all = await measure(open, s, N);
      perDialect[s.name] = {
        batch_1: one.per_event,
        [`batch_${N}`]: all!.per_event,
        ...(opts.detail ? { batch_1_by_statement: one.by_label } : {}),
      };
    }
    if (Object.keys(perDialect).length) out[name] = perDialect;
  }
  return out;
}

if (import.meta.main)
  console.log(JSON.stringify(await runStatementsBench({ detail: process.argv.includes('--detail') }), null, 2));
