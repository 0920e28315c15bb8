import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startShopifyAdminSim, type ShopifyAdminSim } from '../../sim/shopify-admin.ts';
import { addCustomer } from '../../test-support/loyalty-fixtures.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { captureIo } from '../../test-support/test-io.ts';
import { main } from '../main.ts';
import { readShopifyOrders } from './shopify-orders.ts';

const DAY = 86_400_000;

function seed(sim: ShopifyAdminSim, n: number, from = 1): void {
  for (let i = from; i < from + n; i++)
    sim.addOrder({
      id: 5000 + i,
      name: `#${1000 + i}`,
      email: `buyer${i % 3}@example.com`,
      createdAt: new Date(Date.now() - ((i % 30) + 1) * DAY).toISOString(),
      total: `${20 + i}.50`,
      ...(i % 5 === 0 ? { refunded: '5.00' } : {}),
      ...(i === 7 ? { cancelledAt: new Date().toISOString() } : {}),
    });
}

const admin = (sim: ShopifyAdminSim) => ({
  shop: 'hearth-demo.myshopify.com',
  access_token: sim.token,
  api_version: '2026-10',
  admin_url: sim.url,
});

describeEachDialect('Shopify orders through a GraphQL bulk operation', (ctx) => {
  test('orders stream in from the JSONL result, with refunds and cancellations', async () => {
    const sim = await startShopifyAdminSim();
    try {
      seed(sim, 12);
      const orders = await readShopifyOrders(ctx.hdb(), admin(sim), { poll_ms: 5 });
      assert.equal(orders.length, 12);
      assert.equal(sim.bulkRuns, 1);
      const fifth = orders.find((o) => o.name === '#1005')!;
      assert.deepEqual(
        { id: fifth.id, total: fifth.total_minor, refunded: fifth.refunded_minor, cancelled: fifth.cancelled },
        { id: '5005', total: 2550, refunded: 500, cancelled: false },
      );
      assert.equal(orders.find((o) => o.name === '#1007')!.cancelled, true);
    } finally {
      await sim.close();
    }
  });

  test('an interrupted read resumes the same bulk operation instead of starting another', async () => {
    const sim = await startShopifyAdminSim();
    try {
      seed(sim, 5, 100);
      let failDownload = true;
      const flaky: typeof fetch = async (url, init) => {
        if (String(url).includes('/bulk/') && failDownload) {
          failDownload = false;
          throw new TypeError('fetch failed (connection reset)');
        }
        return fetch(url, init);
      };
      await assert.rejects(readShopifyOrders(ctx.hdb(), admin(sim), { poll_ms: 5, fetch: flaky }), /fetch failed/);
      const lines: string[] = [];
      const orders = await readShopifyOrders(ctx.hdb(), admin(sim), {
        poll_ms: 5,
        fetch: flaky,
        onStatus: (l) => lines.push(l),
      });
      assert.equal(orders.length, 5);
      assert.equal(sim.bulkRuns, 1, 'one bulk operation for both runs');
      assert.ok(
        lines.some((l) => /\(resumed\)/.test(l)),
        lines.join('\n'),
      );
      // Read to the end: the next backfill starts a fresh export.
      await readShopifyOrders(ctx.hdb(), admin(sim), { poll_ms: 5 });
      assert.equal(sim.bulkRuns, 2);
    } finally {
      await sim.close();
    }
  });

  test('the cost bucket is respected: a THROTTLED answer waits for the restore rate and retries', async () => {
    const sim = await startShopifyAdminSim();
    try {
      seed(sim, 3, 200);
      sim.bucket = { maximum: 12, restoreRate: 20, available: 0 };
      const lines: string[] = [];
      const orders = await readShopifyOrders(ctx.hdb(), admin(sim), { poll_ms: 5, onStatus: (l) => lines.push(l) });
      assert.equal(orders.length, 3);
      assert.ok(sim.throttled >= 1);
      assert.ok(
        lines.some((l) => /cost bucket low, waiting \d+ ms/.test(l)),
        lines.join('\n'),
      );
    } finally {
      await sim.close();
    }
  });

  test('hearth loyalty backfill --from-shopify credits known customers; bad input is one line', async () => {
    const sim = await startShopifyAdminSim();
    const dir = mkdtempSync(join(tmpdir(), 'hearth-shopify-'));
    try {
      seed(sim, 4, 300);
      await addCustomer(ctx.hdb().db, 'buyer0@example.com', Date.now() - 100 * DAY);
      const file = join(dir, 'hearth.json');
      writeFileSync(
        file,
        JSON.stringify({ connectors: { shopify: { webhook_secret: 'x'.repeat(16), admin: admin(sim) } } }),
      );
      const run = captureIo();
      const code = await main(
        ['loyalty', 'backfill', '--from-shopify', '--config', file, '--db', ctx.url(), '--json'],
        run.io,
      );
      assert.equal(code, 0, run.err());
      const report = JSON.parse(run.out());
      assert.equal(report.orders, 4);
      assert.ok(report.credited.orders >= 1, run.out());

      const bad = captureIo();
      writeFileSync(file, JSON.stringify({ connectors: { shopify: { webhook_secret: 'x'.repeat(16) } } }));
      assert.notEqual(
        await main(['loyalty', 'backfill', '--from-shopify', '--config', file, '--db', ctx.url()], bad.io),
        0,
      );
      assert.match(bad.err(), /connectors\.shopify\.admin/);
    } finally {
      await sim.close();
    }
  });

  test("hearth audit --orders-from-shopify compares the store's shipping addresses with a CRM export", async () => {
    const sim = await startShopifyAdminSim();
    const dir = mkdtempSync(join(tmpdir(), 'hearth-shopify-audit-'));
    try {
      const ship = (address1: string) => ({
        address1,
        city: 'Springfield',
        provinceCode: 'IL',
        zip: '62701',
        countryCodeV2: 'US',
      });
      const at = (d: number) => new Date(Date.now() - d * DAY).toISOString();
      sim.addOrder({
        id: 1,
        name: '#1',
        email: 'ann@example.com',
        createdAt: at(30),
        total: '10.00',
        shipping: ship('1 Main St'),
      });
      sim.addOrder({
        id: 2,
        name: '#2',
        email: 'bob@example.com',
        createdAt: at(20),
        total: '10.00',
        shipping: ship('9 Oak Ave'),
      });
      sim.addOrder({ id: 3, name: '#3', email: 'ann@example.com', createdAt: at(5), total: '10.00', shipping: null });
      const crm = join(dir, 'contacts.csv');
      writeFileSync(
        crm,
        'Record ID,Email,Street Address,City,Postal Code\n' +
          '101,ann@example.com,1 Main Street,Springfield,62701\n' +
          '102,bob@example.com,4 Elm St,Springfield,62701\n',
      );
      const file = join(dir, 'hearth.json');
      writeFileSync(
        file,
        JSON.stringify({ connectors: { shopify: { webhook_secret: 'x'.repeat(16), admin: admin(sim) } } }),
      );
      const run = captureIo();
      const args = ['audit', '--crm', crm, '--crm-format', 'hubspot', '--orders-from-shopify', '--config', file];
      assert.equal(await main([...args, '--db', ctx.url(), '--json'], run.io), 0, run.err());
      const report = JSON.parse(run.out());
      assert.equal(report.summary.joined_customers, 2);
      assert.equal(report.summary.counts.stale_address, 1, run.out());
      assert.equal(sim.bulkRuns, 1);

      const both = captureIo();
      assert.equal(await main([...args, '--orders', crm], both.io), 2);
      assert.match(both.err(), /not both/);
    } finally {
      await sim.close();
    }
  });
});
