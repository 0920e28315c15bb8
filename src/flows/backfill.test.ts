import { captureIo } from '../../test-support/test-io.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { stringify } from 'csv-stringify/sync';
import { main } from '../main.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { adjust } from '../loyalty/adjustment.ts';
import { appendEntry, balanceOf, poolBalance } from '../loyalty/ledger-store.ts';
import { earnForOrder } from '../loyalty/order-ledger.ts';
import { pointsFor } from '../loyalty/tiers.ts';
import { addCustomer, addHousehold, join as joinHousehold, testSettings } from '../../test-support/loyalty-fixtures.ts';

const DAY = 86_400_000;
const T0 = Date.now() - 200 * DAY;
const s = testSettings({ tier_window_ms: 365 * DAY });
const HEADER = [
  'Name',
  'Email',
  'Financial Status',
  'Paid at',
  'Fulfillment Status',
  'Fulfilled at',
  'Accepts Marketing',
  'Currency',
  'Subtotal',
  'Shipping',
  'Taxes',
  'Total',
  'Discount Code',
  'Discount Amount',
  'Shipping Method',
  'Created at',
  'Lineitem quantity',
  'Lineitem name',
  'Lineitem price',
  'Cancelled at',
  'Refunded Amount',
  'Id',
];

interface GenOrder {
  name: string;
  id: string;
  email: string;
  total: number;
  refunded: number;
  at: number;
  cancelled: boolean;
  lines: number;
}

/** A small seeded generator (mulberry32) so the file is the same on every run. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shopifyDate(ms: number): string {
  // The export's own format: local time with an offset (-0500 here).
  const d = new Date(ms - 5 * 3_600_000);
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} -0500`
  );
}

function toCsv(orders: GenOrder[]): string {
  const rows: string[][] = [HEADER];
  for (const o of orders) {
    for (let l = 0; l < o.lines; l++) {
      const first = l === 0;
      const cell: Record<string, string> = {
        Name: o.name,
        Email: first ? o.email : '',
        'Financial Status': first ? (o.refunded > 0 ? 'partially_refunded' : 'paid') : '',
        Currency: first ? 'USD' : '',
        Total: first ? o.total.toFixed(2) : '',
        'Created at': first ? shopifyDate(o.at) : '',
        'Lineitem quantity': '1',
        'Lineitem name': `Item ${l}`,
        'Lineitem price': '10.00',
        'Cancelled at': first && o.cancelled ? shopifyDate(o.at + DAY) : '',
        'Refunded Amount': first && o.refunded > 0 ? o.refunded.toFixed(2) : '',
        Id: first ? o.id : '',
      };
      rows.push(HEADER.map((h) => cell[h] ?? ''));
    }
  }
  return stringify(rows);
}

const cli = () => captureIo();

describeEachDialect('loyalty backfill and audit', (ctx) => {
  const db = () => ctx.hdb().db;
  const dir = mkdtempSync(join(tmpdir(), 'hearth-backfill-'));
  const people: Record<string, string> = {};
  let hh: string;
  let other: string;
  const orders: GenOrder[] = [];

  before(async () => {
    hh = await addHousehold(db(), 'bf-house', T0);
    other = await addHousehold(db(), 'bf-other', T0);
    for (const p of ['ann', 'ben', 'cal', 'dee', 'eve', 'fay'])
      people[p] = await addCustomer(db(), `${p}@backfill.test`, T0);
    await joinHousehold(db(), people.ann!, { household_id: hh, role: 'head', opt_in: true }, T0, s);
    await joinHousehold(db(), people.ben!, { household_id: hh, role: 'member', opt_in: true }, T0, s);
    await joinHousehold(db(), people.cal!, { household_id: hh, role: 'member', opt_in: false }, T0, s);
    // Dee's household history is only known from day 100 on.
    await joinHousehold(db(), people.dee!, { household_id: hh, role: 'member', opt_in: true }, T0 + 100 * DAY, s);
    await joinHousehold(db(), people.fay!, { household_id: other, role: 'head', opt_in: true }, T0, s);
    const rand = rng(42);
    const emails = ['ann', 'ben', 'cal', 'dee', 'eve', 'ghost1', 'ghost2'];
    for (let i = 0; i < 120; i++) {
      const who = emails[Math.floor(rand() * emails.length)]!;
      const total = Math.round((5 + rand() * 195) * 100) / 100;
      const roll = rand();
      orders.push({
        name: `#${2000 + i}`,
        id: String(900000 + i),
        email: `${who}@backfill.test`,
        total,
        at: T0 + Math.floor(rand() * 190) * DAY + 3_600_000,
        cancelled: roll < 0.05,
        refunded: roll > 0.9 ? Math.round(total * 40) / 100 : 0,
        lines: 1 + Math.floor(rand() * 3),
      });
    }
  });

  /** What the report must say, derived from the generated orders and the membership timeline. */
  function expected() {
    const e = {
      credited: 0,
      credited_amount: 0,
      points: 0,
      pool: 0,
      pool_points: 0,
      cal_points: 0,
      none: 0,
      none_amount: 0,
      unknown: 0,
      unknown_amount: 0,
      not_earning: 0,
    };
    for (const o of orders) {
      const net = Math.round((o.total - o.refunded) * 100);
      const who = o.email.split('@')[0]!;
      if (o.cancelled || net <= 0) {
        e.not_earning++;
        continue;
      }
      if (who.startsWith('ghost')) {
        e.none++;
        e.none_amount += net;
        continue;
      }
      if (who === 'dee' && o.at < T0 + 100 * DAY) {
        e.unknown++;
        e.unknown_amount += net;
        continue;
      }
      e.credited++;
      e.credited_amount += net;
      const pts = pointsFor(net, s.points_per_unit);
      e.points += pts;
      if (['ann', 'ben', 'dee'].includes(who)) {
        e.pool++;
        e.pool_points += pts;
      }
      if (who === 'cal') e.cal_points += pts;
    }
    return e;
  }

  test(
    'a generated export is replayed under the membership timeline; ' +
      'the report counts what was credited and what cannot be',
    async () => {
      const adjustment = await adjust(
        db(),
        { account_id: hh, points: 33, reason: 'support: goodwill before the backfill', actor: 'api_key:support' },
        T0 + 150 * DAY,
        s,
      );
      const file = join(dir, 'orders.csv');
      writeFileSync(file, toCsv(orders));
      const run = cli();
      assert.equal(
        await main(['loyalty', 'backfill', '--orders', file, '--db', ctx.url(), '--json'], run.io),
        0,
        run.err(),
      );
      const report = JSON.parse(run.out());
      const e = expected();
      assert.equal(report.orders, orders.length);
      assert.equal(
        report.line_rows,
        orders.reduce((n, o) => n + o.lines, 0),
      );
      assert.equal(report.credited.orders, e.credited);
      assert.equal(report.credited.amount, e.credited_amount / 100);
      assert.equal(report.credited.points, e.points);
      assert.equal(report.credited.to_household_pools, e.pool);
      assert.equal(report.not_earning.orders, e.not_earning);
      assert.deepEqual(report.unrecoverable.no_linkable_customer, { orders: e.none, amount: e.none_amount / 100 });
      assert.deepEqual(report.unrecoverable.household_history_unknown, {
        orders: e.unknown,
        amount: e.unknown_amount / 100,
      });
      assert.ok(e.none > 0 && e.unknown > 0 && e.pool > 0, 'the generated file exercises every bucket');
      assert.equal(
        report.unrecoverable.share_of_amount,
        Math.round(
          ((e.none_amount + e.unknown_amount) / (e.credited_amount + e.none_amount + e.unknown_amount)) * 10_000,
        ) / 10_000,
      );
      // The manual adjustment made before the backfill is still there, untouched, on top of the replayed earnings.
      assert.equal(await poolBalance(db(), hh), e.pool_points + 33);
      const kept = await db()
        .selectFrom('ledger_entries')
        .selectAll()
        .where('id', '=', adjustment.entry.id)
        .executeTakeFirstOrThrow();
      assert.deepEqual(
        {
          ...kept,
          points: Number(kept.points),
          spend_minor: Number(kept.spend_minor),
          occurred_at: Number(kept.occurred_at),
          created_at: Number(kept.created_at),
        },
        adjustment.entry,
      );
      assert.equal(await balanceOf(db(), people.cal!), e.cal_points);
    },
  );

  test('running it again credits nothing twice; an order the webhook already earned is not earned again', async () => {
    const file = join(dir, 'orders.csv');
    const before = await poolBalance(db(), hh);
    const again = cli();
    assert.equal(
      await main(['loyalty', 'backfill', '--orders', file, '--db', ctx.url(), '--json'], again.io),
      0,
      again.err(),
    );
    const report = JSON.parse(again.out());
    assert.equal(report.credited.orders, 0);
    assert.equal(report.already_credited.orders, expected().credited);
    assert.equal(await poolBalance(db(), hh), before);
    // A live order earned by the webhook, then found in a later export, is "already".
    const at = Date.now() - DAY;
    await earnForOrder(
      db(),
      {
        source: 'shopify',
        order_ref: '777001',
        order_name: '#7001',
        customer_id: people.eve!,
        total_minor: 5000,
        currency: 'USD',
        occurred_at: at,
      },
      at,
      s,
      { source: 'shopify', actor: 'connector:shopify' },
    );
    const live = join(dir, 'live.csv');
    writeFileSync(
      live,
      toCsv([
        {
          name: '#7001',
          id: '777001',
          email: 'eve@backfill.test',
          total: 50,
          refunded: 0,
          at,
          cancelled: false,
          lines: 2,
        },
      ]),
    );
    const third = cli();
    assert.equal(
      await main(['loyalty', 'backfill', '--orders', live, '--db', ctx.url(), '--json'], third.io),
      0,
      third.err(),
    );
    assert.equal(JSON.parse(third.out()).already_credited.orders, 1);
  });

  test('an order already in the ledger is "already" even when the household was learned after it', async () => {
    const now = Date.now();
    const late = await addCustomer(db(), 'late@backfill.test', now);
    const at = now - 2 * DAY;
    await earnForOrder(
      db(),
      {
        source: 'shopify',
        order_ref: '888001',
        order_name: '#8801',
        customer_id: late,
        total_minor: 4000,
        currency: 'USD',
        occurred_at: at,
      },
      at,
      s,
      { source: 'shopify', actor: 'connector:shopify' },
    );
    await joinHousehold(db(), late, { household_id: hh, role: 'member', opt_in: true }, now, s);
    const file = join(dir, 'late.csv');
    writeFileSync(
      file,
      toCsv([
        {
          name: '#8801',
          id: '888001',
          email: 'late@backfill.test',
          total: 40,
          refunded: 0,
          at,
          cancelled: false,
          lines: 1,
        },
      ]),
    );
    const run = cli();
    assert.equal(
      await main(['loyalty', 'backfill', '--orders', file, '--db', ctx.url(), '--json'], run.io),
      0,
      run.err(),
    );
    const report = JSON.parse(run.out());
    assert.equal(report.already_credited.orders, 1);
    assert.equal(report.unrecoverable.household_history_unknown.orders, 0);
  });

  test('a file that is not an orders export, or has a bad row, is one line of error and writes nothing', async () => {
    const count = async () => (await db().selectFrom('ledger_entries').select('id').execute()).length;
    const n = await count();
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'Name,Email\n#1,a@b.c\n');
    const r1 = cli();
    assert.equal(await main(['loyalty', 'backfill', '--orders', bad, '--db', ctx.url()], r1.io), 2);
    assert.equal(r1.err(), `hearth loyalty: ${bad}: column "Total" is missing (is this a Shopify orders export?)\n`);
    const badRow = join(dir, 'bad-row.csv');
    writeFileSync(
      badRow,
      toCsv([
        { name: '#1', id: '1', email: 'ann@backfill.test', total: 10, refunded: 0, at: T0, cancelled: false, lines: 1 },
      ]).replace('10.00', 'ten'),
    );
    const r2 = cli();
    assert.equal(await main(['loyalty', 'backfill', '--orders', badRow, '--db', ctx.url()], r2.io), 2);
    assert.match(r2.err(), /line 2: Total "ten" of order #1 is not an amount/);
    const r3 = cli();
    assert.equal(await main(['loyalty', 'backfill', '--db', ctx.url()], r3.io), 2);
    assert.match(r3.err(), /needs --orders FILE/);
    const r4 = cli();
    assert.equal(await main(['loyalty', 'expire', '--db', ctx.url()], r4.io), 2);
    assert.equal(r4.err(), 'hearth loyalty: loyalty.points_expire_days is not set: points never expire\n');
    const help = cli();
    assert.equal(await main(['loyalty', '--help'], help.io), 0);
    assert.match(help.out(), /hearth loyalty backfill --orders/);
    assert.equal(await count(), n);
  });

  test(
    'audit: redemptions against an account outside the redeemer ' +
      'household, from the ledger and from an imported log',
    async () => {
      const at = T0 + 160 * DAY;
      // Legacy-style entries written directly: Ann against her own pool (inside), Ann against Fay's pool (outside).
      await appendEntry(
        db(),
        {
          kind: 'redeem',
          account_id: hh,
          customer_id: people.ann!,
          points: -10,
          source: 'import',
          actor: 'test',
          occurred_at: at,
        },
        at,
      );
      await appendEntry(
        db(),
        {
          kind: 'redeem',
          account_id: other,
          customer_id: people.ann!,
          points: -5,
          source: 'import',
          actor: 'test',
          occurred_at: at,
        },
        at,
      );
      const run = cli();
      assert.equal(await main(['loyalty', 'audit', '--db', ctx.url(), '--json'], run.io), 0, run.err());
      const ledger = JSON.parse(run.out());
      assert.equal(ledger.source, 'ledger');
      assert.equal(ledger.redemptions, 2);
      assert.equal(ledger.outside_household, 1);
      assert.equal(ledger.share, 0.5);
      assert.equal(ledger.findings[0].account_id, other);
      const log = join(dir, 'redemptions.csv');
      const day = (n: number) => shopifyDate(T0 + n * DAY);
      writeFileSync(
        log,
        stringify([
          ['redeemed_at', 'redeemer_email', 'account_email', 'points'],
          [day(150), 'ann@backfill.test', 'ben@backfill.test', '100'], // same household: inside
          [day(150), 'ann@backfill.test', 'fay@backfill.test', '50'], // another household: outside
          [day(150), 'eve@backfill.test', 'eve@backfill.test', '20'], // own account
          // Dee's history starts on day 100: judged by her CRM household (Ann's), so inside, not "outside".
          [day(50), 'dee@backfill.test', 'ann@backfill.test', '30'],
          [day(150), 'ghost@backfill.test', 'ann@backfill.test', '10'], // unknown redeemer
        ]),
      );
      const fromFile = cli();
      assert.equal(
        await main(['loyalty', 'audit', '--redemptions', log, '--db', ctx.url()], fromFile.io),
        0,
        fromFile.err(),
      );
      assert.match(fromFile.out(), /redemptions \(file\): 5, judged 4, unknown redeemer or account 1/);
      assert.match(fromFile.out(), /outside the redeemer's household: 1 \(25\.0%\), 50 of 210 points/);
      assert.match(fromFile.out(), /judged by the CRM's household \(older than the household history\): 1,/);
    },
  );
});
