import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { Kysely } from 'kysely';
import { IDP_PUSH_KIND } from '../canonical/identity-claims.ts';
import type { CanonicalEvent } from '../canonical/types.ts';
import type { Database } from '../db/schema.ts';
import { enqueueJobs } from '../engine/jobs.ts';
import { enrichmentFor } from '../loyalty/enrichment.ts';
import { appendEntry } from '../loyalty/ledger-store.ts';
import { earnForOrder, type OrderFacts } from '../loyalty/order-ledger.ts';
import { earnInBatch } from '../loyalty/order-batch.ts';
import { loadBatchLedger, writeLedgerWrites } from '../loyalty/order-batch-store.ts';
import { HearthError } from '../errors.ts';
import type { LoyaltySettings } from '../loyalty/settings.ts';
import { tierBasis } from '../loyalty/tier-store.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { addCustomer, addHousehold, join, testSettings } from '../../test-support/loyalty-fixtures.ts';
import { earnOrders, enrichedOrderJobs, type PendingOrder } from './order.ts';
import { reevaluateTiers } from './tiers.ts';

type Db = Kysely<Database>;
type OrderPlaced = Extract<CanonicalEvent, { type: 'order.placed' }>;

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1);

/** The path each order took before runs: every read and write per order, in order (the reference). */
async function oneByOne(trx: Db, s: LoyaltySettings, orders: PendingOrder[], now: number): Promise<void> {
  for (const { ev, eventId, customer_id, email } of orders) {
    const earn = await earnForOrder(
      trx,
      {
        source: ev.source,
        order_ref: ev.order_id,
        order_name: ev.order_name,
        customer_id,
        total_minor: ev.total_minor,
        currency: ev.currency,
        occurred_at: ev.occurred_at,
      },
      now,
      s,
      { source: ev.source, actor: `connector:${ev.source}` },
    );
    if (!earn.entry) continue;
    await reevaluateTiers(trx, [customer_id], now, s, { source: ev.source, event_id: eventId });
    const e = await enrichmentFor(trx, customer_id, ev.occurred_at, now, s, earn.membership ?? null);
    const jobs = enrichedOrderJobs(s, ev, eventId, email, e, earn.points, await tierBasis(trx, customer_id));
    await enqueueJobs(trx, jobs, s.max_attempts, now);
  }
}

/** What an apply leaves behind: entries, tiers, jobs (generated ids left out). */
async function snapshot(db: Db) {
  const entries = await db
    .selectFrom('ledger_entries')
    .select(['kind', 'account_id', 'customer_id', 'household_id', 'points', 'spend_minor', 'idempotency_key'])
    .select(['occurred_at', 'reason', 'actor', 'order_ref', 'order_name', 'currency'])
    .orderBy('id')
    .execute();
  const tiers = await db.selectFrom('tier_state').selectAll().orderBy('customer_id').execute();
  const jobs = await db
    .selectFrom('jobs')
    .select(['target', 'kind', 'job_key', 'status', 'payload', 'event_id', 'customer_id', 'origin_at'])
    .orderBy('id')
    .execute();
  const accounts = await db.selectFrom('loyalty_accounts').select(['id', 'kind']).orderBy('id').execute();
  return { entries, tiers, jobs: jobs.map((j) => ({ ...j, payload: JSON.parse(j.payload) })), accounts };
}

class Rollback extends Error {
  readonly snap: Awaited<ReturnType<typeof snapshot>>;
  constructor(snap: Awaited<ReturnType<typeof snapshot>>) {
    super('rollback');
    this.snap = snap;
  }
}

/** Runs `apply` in a transaction, snapshots the result and rolls it back, so both paths start equal. */
async function dryRun(db: Db, apply: (trx: Db) => Promise<void>) {
  try {
    await db.transaction().execute(async (trx) => {
      await apply(trx);
      throw new Rollback(await snapshot(trx));
    });
  } catch (err) {
    if (err instanceof Rollback) return err.snap;
    throw err;
  }
  throw new Error('unreachable');
}

describeEachDialect('a run of orders in one batch, as if applied one by one', (ctx) => {
  const db = () => ctx.hdb().db;
  const c: Record<string, string> = {};
  let hh = '';
  let orders: (PendingOrder & { facts: OrderFacts })[] = [];
  const base = testSettings({
    webhook_targets: [{ name: 'loyalty', events: ['order.enriched', 'tier.changed'] }],
  });

  const order = (n: number, who: string, total: number, at: number, name = `#${n}`) => {
    const ev: OrderPlaced = {
      type: 'order.placed',
      source: 'shopify',
      external_id: null,
      order_id: String(n),
      order_name: name,
      contact: { email: `${who}@example.com` },
      total_minor: total,
      currency: 'USD',
      line_count: 1,
      occurred_at: at,
    };
    return {
      ev,
      eventId: `evt_${n}_${who}`,
      customer_id: c[who]!,
      email: `${who}@example.com`,
      get facts() {
        return {
          source: ev.source,
          order_ref: ev.order_id,
          order_name: ev.order_name,
          customer_id: c[who]!,
          total_minor: ev.total_minor,
          currency: ev.currency,
          occurred_at: ev.occurred_at,
        };
      },
    };
  };

  before(async () => {
    const t0 = NOW - 60 * DAY;
    hh = await addHousehold(db(), 'batch', t0);
    for (const who of ['ann', 'ben', 'cal', 'dee', 'eve', 'fay'])
      c[who] = await addCustomer(db(), `${who}@example.com`, t0);
    await join(db(), c.ann!, { household_id: hh, role: 'head', opt_in: true }, t0, base);
    await join(db(), c.ben!, { household_id: hh, role: 'member', opt_in: true }, t0, base);
    // Cal is a member who never pooled: he earns and is tiered alone.
    await join(db(), c.cal!, { household_id: hh, role: 'member', opt_in: false }, t0, base);
    // Eve pooled until ten days ago: her older order credits the pool, her tier is her own now.
    await join(db(), c.eve!, { household_id: hh, role: 'member', opt_in: true }, t0, base);
    await join(db(), c.eve!, null, NOW - 10 * DAY, base);
    const pre = { source: 'shopify', actor: 'test', kind: 'earn' as const, customer_id: c.ann! };
    // In the window (counts for tiers) and outside it (only for the balance); a redemption.
    await appendEntry(db(), { ...pre, account_id: hh, points: 50, spend_minor: 5_000, occurred_at: NOW - 5 * DAY }, t0);
    await appendEntry(db(), { ...pre, account_id: hh, points: 900, spend_minor: 90_000, occurred_at: t0 - DAY }, t0);
    await appendEntry(db(), { ...pre, kind: 'redeem', account_id: hh, points: -20, occurred_at: NOW - DAY }, t0);
    // An order a backfill earned under its name only: its webhook must not earn it again.
    await appendEntry(
      db(),
      {
        ...pre,
        account_id: c.dee!,
        customer_id: c.dee!,
        points: 5,
        idempotency_key: 'earn:shopify:name:#77',
        occurred_at: NOW - 90 * DAY,
      },
      t0,
    );
    orders = [
      order(1, 'ann', 3_000, NOW - 2 * DAY), // pool 50.00 -> 80.00 in the window
      order(2, 'ben', 4_000, NOW - DAY), // pool 120.00: silver for ann, ben (eve is gone)
      order(3, 'cal', 12_000, NOW - DAY), // cal alone: silver
      order(1, 'ann', 3_000, NOW - 2 * DAY), // a repeated webhook: earns nothing, forwards nothing
      order(4, 'eve', 6_000, NOW - 20 * DAY), // placed while she pooled: to the pool, her tier stays hers
      order(5, 'dee', 1_000, NOW - DAY), // no household
      order(6, 'ann', 20_000, NOW - DAY / 2), // pool 380.00: gold for ann and ben
      order(7, 'fay', 2_500, NOW - DAY, '#77'), // earned by name before: skipped
      order(8, 'dee', 500, NOW - 400 * DAY), // outside the window: points, no tier spend
      order(9, 'ben', 100, NOW), // pool stays gold: no change
    ];
  });

  test('balances, tiers, entries and outbound jobs equal the one-by-one path, order by order', async () => {
    const expected = await dryRun(db(), (trx) => oneByOne(trx, base, orders, NOW));
    const batched = await dryRun(db(), (trx) => earnOrders(trx, base, orders, NOW));
    assert.deepEqual(batched, expected);
    // And what both agree on is what the rules say.
    const earned = batched.entries.filter((e) => e.kind === 'earn' && e.actor === 'connector:shopify');
    assert.deepEqual(
      earned.map((e) => [e.order_ref, e.account_id === hh ? 'pool' : e.customer_id]),
      [
        ['1', 'pool'],
        ['2', 'pool'],
        ['3', c.cal],
        ['4', 'pool'],
        ['5', c.dee],
        ['6', 'pool'],
        ['8', c.dee],
        ['9', 'pool'],
      ],
    );
    const tierOf = Object.fromEntries(batched.tiers.map((t) => [t.customer_id, t.tier]));
    assert.deepEqual(
      [tierOf[c.ann!], tierOf[c.ben!], tierOf[c.cal!], tierOf[c.dee!], tierOf[c.eve!]],
      ['gold', 'gold', 'silver', 'member', 'member'],
    );
    const enriched = batched.jobs.filter((j) => j.payload.event.type === 'order.enriched');
    assert.deepEqual(
      enriched.map((j) => [j.payload.event.data.order.id, j.payload.event.data.loyalty.balance]),
      [
        ['1', 960],
        ['2', 1000],
        ['3', 120],
        ['4', 1060],
        ['5', 15],
        ['6', 1260],
        ['8', 20],
        ['9', 1261],
      ],
    );
  });

  test('with an identity provider the tier pushes read the tiers each order left, as one by one', async () => {
    const s = { ...base, idp: { idp_targets: ['okta'] } };
    const expected = await dryRun(db(), (trx) => oneByOne(trx, s, orders, NOW));
    const batched = await dryRun(db(), (trx) => earnOrders(trx, s, orders, NOW));
    assert.deepEqual(batched, expected);
    const pushes = batched.jobs.filter((j) => j.kind === IDP_PUSH_KIND && j.customer_id === c.ann);
    // Ann went silver (order 2) then gold (order 6): the newer push supersedes the older one.
    assert.deepEqual(
      pushes.map((p) => [p.payload.claims.tier, p.status]),
      [
        ['silver', 'superseded'],
        ['gold', 'pending'],
      ],
    );
  });

  test('an order another writer earned after the run loaded fails the whole run (the loop retries)', async () => {
    const run = [order(40, 'dee', 1_000, NOW - DAY), order(41, 'dee', 2_000, NOW - DAY)];
    const ledger = await loadBatchLedger(
      db(),
      run.map((p) => p.facts),
      NOW,
      base,
    );
    const earned = run.map((p) => earnInBatch(ledger, p.facts, NOW, base, { source: 'shopify', actor: 'test' })!);
    await appendEntry(db(), { ...earned[1]!.entry }, NOW); // a backfill beside the engine, meanwhile
    const before = await db().selectFrom('ledger_entries').select('id').execute();
    await assert.rejects(
      db()
        .transaction()
        .execute((trx) => writeLedgerWrites(trx, { entries: earned.map((e) => e.entry), tiers: [] }, NOW)),
      (err: unknown) => err instanceof HearthError && err.code === 'conflict',
    );
    assert.equal((await db().selectFrom('ledger_entries').select('id').execute()).length, before.length);
  });
});
