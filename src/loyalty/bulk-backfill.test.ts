import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { addCustomer, addHousehold, join, testSettings } from '../../test-support/loyalty-fixtures.ts';
import { backfillOrders } from '../flows/backfill.ts';
import { adjust } from './adjustment.ts';
import { bulkBackfillOrders, runNameOf, type BulkBackfillReport } from './bulk-backfill.ts';
import { balanceOf } from './ledger-store.ts';
import type { ExportedOrder } from './orders-csv.ts';

const DAY = 86_400_000;
const T0 = Date.now() - 200 * DAY;
const NOW = T0 + 200 * DAY;
const s = testSettings({ tier_window_ms: 365 * DAY });
const PEOPLE = ['ann', 'ben', 'cal', 'dee', 'eve', 'fay'] as const;

/** A small seeded generator (mulberry32), so every run has the same orders. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The same 150 orders for each copy of the fixture (`set` names the copy's e-mail domain). */
function ordersOf(set: string): ExportedOrder[] {
  const rand = rng(7);
  const who = [...PEOPLE, 'ghost'];
  const out: ExportedOrder[] = [];
  for (let i = 0; i < 150; i++) {
    const total = Math.round(500 + rand() * 20_000);
    const roll = rand();
    out.push({
      name: `#${set}${1000 + i}`,
      // Every fifth order has no id (an export without the Id column keys it by name).
      id: i % 5 === 0 ? null : `${set}-${90_000 + i}`,
      email: `${who[Math.floor(rand() * who.length)]}@${set}.test`,
      currency: 'USD',
      total_minor: total,
      refunded_minor: roll > 0.9 ? Math.round(total * 0.4) : 0,
      created_at: T0 + Math.floor(rand() * 190) * DAY + 3_600_000,
      cancelled: roll < 0.05,
      line_rows: 1,
      line: i + 2,
    });
  }
  // The same id twice in one file earns once.
  out[1] = { ...out[1]!, email: `ann@${set}.test`, cancelled: false, refunded_minor: 0 };
  out.push({ ...out[1]!, name: `#${set}dup` });
  return out;
}

interface Copy {
  ids: Record<string, string>;
  hh: string;
  other: string;
}

describeEachDialect('bulk loyalty backfill', (ctx) => {
  const db = () => ctx.hdb().db;
  const copies: Record<string, Copy> = {};

  /** One copy of the household fixture, under its own e-mail domain. */
  async function seed(set: string): Promise<Copy> {
    const hh = await addHousehold(db(), `${set}-house`, T0);
    const other = await addHousehold(db(), `${set}-other`, T0);
    const ids: Record<string, string> = {};
    for (const p of PEOPLE) ids[p] = await addCustomer(db(), `${p}@${set}.test`, T0);
    await join(db(), ids.ann!, { household_id: hh, role: 'head', opt_in: true }, T0, s);
    await join(db(), ids.ben!, { household_id: hh, role: 'member', opt_in: true }, T0, s);
    await join(db(), ids.cal!, { household_id: hh, role: 'member', opt_in: false }, T0, s);
    // Dee's household history is only known from day 100 on: her earlier orders are unrecoverable.
    await join(db(), ids.dee!, { household_id: hh, role: 'member', opt_in: true }, T0 + 100 * DAY, s);
    // Fay moves household on day 120: her orders before go to the first pool, after to the second.
    await join(db(), ids.fay!, { household_id: other, role: 'head', opt_in: true }, T0, s);
    await join(db(), ids.fay!, { household_id: hh, role: 'member', opt_in: true }, T0 + 120 * DAY, s);
    return { ids, hh, other };
  }

  /** Balances of every account of a copy, and the stored tiers, keyed by role in the fixture. */
  async function state(c: Copy): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {
      hh: await balanceOf(db(), c.hh),
      other: await balanceOf(db(), c.other),
    };
    for (const p of PEOPLE) {
      const tier = await db()
        .selectFrom('tier_state')
        .select(['tier', 'basis', 'qualifying_spend_minor'])
        .where('customer_id', '=', c.ids[p]!)
        .executeTakeFirst();
      out[p] = { balance: await balanceOf(db(), c.ids[p]!), tier: tier ?? null };
    }
    return out;
  }

  const strip = (r: BulkBackfillReport) => {
    const { resumed_after: _r, transactions: _t, ...rest } = r;
    return rest;
  };

  before(async () => {
    for (const set of ['live', 'bulk', 'resume']) copies[set] = await seed(set);
  });

  test('the bulk path credits what the per-order path credits: same report, balances and tiers', async () => {
    const live = await backfillOrders(db(), ordersOf('live'), NOW, s, 'shopify');
    const orders = ordersOf('bulk');
    const bulk = await bulkBackfillOrders(db(), orders, {
      source: 'shopify',
      now: NOW,
      settings: s,
      run: runNameOf(orders, 'shopify'),
      batch: 7,
    });
    assert.ok(live.credited.orders > 50 && live.unrecoverable.total.orders > 0 && live.already_credited.orders === 1);
    assert.deepEqual(strip(bulk), live);
    assert.equal(bulk.transactions > 150 / 7, true);
    assert.deepEqual(await state(copies.bulk!), await state(copies.live!));
  });

  test('a re-run credits nothing twice and leaves a hand adjustment alone', async () => {
    const c = copies.bulk!;
    await adjust(db(), { account_id: c.hh, points: 33, reason: 'support: goodwill', actor: 'api_key:support' }, NOW, s);
    const before = await state(c);
    const orders = ordersOf('bulk');
    const again = await bulkBackfillOrders(db(), orders, {
      source: 'shopify',
      now: NOW,
      settings: s,
      run: runNameOf(orders, 'shopify'),
      batch: 1000,
    });
    assert.equal(again.credited.orders, 0);
    assert.equal(again.credited.points, 0);
    assert.equal(again.tier_changes, 0);
    assert.equal(
      again.already_credited.orders,
      orders.length - again.not_earning.orders - again.unrecoverable.total.orders,
    );
    assert.deepEqual(await state(c), before);
    const adjustments = await db()
      .selectFrom('ledger_entries')
      .select(['points'])
      .where('account_id', '=', c.hh)
      .where('kind', '=', 'adjust')
      .execute();
    assert.deepEqual(adjustments, [{ points: 33 }]);
  });

  test('an interrupted run resumes after its last committed batch, ending as an uninterrupted one', async () => {
    const orders = ordersOf('resume');
    const run = runNameOf(orders, 'shopify');
    function* failingAfter(n: number): Generator<ExportedOrder> {
      for (let i = 0; i < orders.length; i++) {
        if (i === n) throw new Error('interrupted');
        yield orders[i]!;
      }
    }
    await assert.rejects(
      bulkBackfillOrders(db(), failingAfter(64), { source: 'shopify', now: NOW, settings: s, run, batch: 10 }),
      /interrupted/,
    );
    const cursor = await db()
      .selectFrom('connector_cursors')
      .select('position')
      .where('connector', '=', 'loyalty_backfill')
      .where('stream', '=', run)
      .executeTakeFirstOrThrow();
    assert.equal(cursor.position, '60');
    const resumed = await bulkBackfillOrders(db(), orders, {
      source: 'shopify',
      now: NOW,
      settings: s,
      run,
      batch: 10,
    });
    assert.equal(resumed.resumed_after, 60);
    assert.equal(resumed.orders, orders.length);
    assert.ok(resumed.credited.orders > 0);
    // Balances and tiers as if nothing had stopped (the live copy has the same orders).
    assert.deepEqual(await state(copies.resume!), await state(copies.live!));
    const left = await db()
      .selectFrom('connector_cursors')
      .select('position')
      .where('connector', '=', 'loyalty_backfill')
      .where('stream', '=', run)
      .executeTakeFirst();
    assert.equal(left, undefined);
  });
});
