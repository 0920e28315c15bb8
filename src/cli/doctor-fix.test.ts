import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startHubSpotSim } from '../../sim/hubspot.ts';
import { startShopifyAdminSim } from '../../sim/shopify-admin.ts';
import { captureIo } from '../../test-support/test-io.ts';
import { main } from '../main.ts';

const GRANT = { client_id: 'app-1', client_secret: 'shh-secret', refresh_token: 'rt-1' };

test('hearth doctor --fix creates the missing HubSpot opt-in property; a second doctor finds it', async () => {
  const sim = await startHubSpotSim({ oauth: GRANT, missing_properties: ['points_aggregation_opt_in'] });
  const dir = mkdtempSync(join(tmpdir(), 'hearth-doctor-fix-'));
  try {
    const file = join(dir, 'hearth.json');
    writeFileSync(
      file,
      JSON.stringify({
        database: `sqlite:${join(dir, 'h.db')}`,
        connectors: { hubspot: { base_url: sim.url, oauth: GRANT, client_secret: 'shh-secret' } },
      }),
    );
    const property = (out: string) =>
      (JSON.parse(out).checks as { connector: string; check: string; status: string; detail: string }[]).find(
        (c) => c.connector === 'hubspot' && c.check === 'properties',
      )!;

    const before = captureIo();
    assert.equal(await main(['doctor', '--config', file, '--json'], before.io), 1);
    assert.equal(property(before.out()).status, 'fail');

    const fixed = captureIo();
    assert.equal(await main(['doctor', '--config', file, '--fix', '--json'], fixed.io), 0, fixed.out());
    assert.match(property(fixed.out()).detail, /created contact property points_aggregation_opt_in/);

    const after = captureIo();
    assert.equal(await main(['doctor', '--config', file, '--json'], after.io), 0);
    assert.match(property(after.out()).detail, /exists/);
  } finally {
    await sim.close();
  }
});

test('hearth doctor checks Shopify scopes and webhook subscriptions; --fix subscribes the missing topics', async () => {
  const sim = await startShopifyAdminSim();
  const dir = mkdtempSync(join(tmpdir(), 'hearth-doctor-shopify-'));
  try {
    const hook = 'https://hearth.example.com/webhooks/shopify';
    const file = join(dir, 'hearth.json');
    writeFileSync(
      file,
      JSON.stringify({
        database: `sqlite:${join(dir, 'h.db')}`,
        connectors: {
          shopify: {
            webhook_secret: 'shpss_doctor',
            admin: {
              shop: 'hearth-demo.myshopify.com',
              access_token: sim.token,
              admin_url: sim.url,
              webhook_url: hook,
            },
          },
        },
      }),
    );
    type Found = { connector: string; check: string; status: string; detail: string };
    const shopify = (out: string): Record<'credentials' | 'scopes' | 'webhooks', Found> =>
      Object.fromEntries(
        (JSON.parse(out).checks as Found[]).filter((c) => c.connector === 'shopify').map((c) => [c.check, c]),
      ) as Record<'credentials' | 'scopes' | 'webhooks', Found>;

    const before = captureIo();
    assert.equal(await main(['doctor', '--config', file, '--json'], before.io), 1);
    assert.equal(shopify(before.out()).credentials.status, 'ok');
    assert.equal(shopify(before.out()).scopes.status, 'ok');
    assert.match(shopify(before.out()).webhooks.detail, /ORDERS_CREATE/);

    const fixed = captureIo();
    assert.equal(await main(['doctor', '--config', file, '--fix', '--json'], fixed.io), 0, fixed.out());
    assert.match(shopify(fixed.out()).webhooks.detail, /created/);
    assert.deepEqual(sim.webhooks.map((w) => w.topic).sort(), [
      'CUSTOMERS_CREATE',
      'CUSTOMERS_UPDATE',
      'ORDERS_CANCELLED',
      'ORDERS_CREATE',
      'REFUNDS_CREATE',
    ]);
    assert.ok(sim.webhooks.every((w) => w.callbackUrl === hook));

    sim.scopes = ['read_customers'];
    const after = captureIo();
    assert.equal(await main(['doctor', '--config', file, '--json'], after.io), 1);
    assert.equal(shopify(after.out()).webhooks.status, 'ok');
    assert.match(shopify(after.out()).scopes.detail, /missing read_orders/);
  } finally {
    await sim.close();
  }
});
