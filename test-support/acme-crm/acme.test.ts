import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import { buildOrder, sendShopifyWebhook } from '../../sim/shopify.ts';
import { parseConfig } from '../../src/config/loader.ts';
import { CONNECTORS, reconcilableNames } from '../../src/connectors/registry.ts';
import { isQuiet } from '../../src/engine/quiet.ts';
import { createLogger } from '../../src/log.ts';
import { startHearth, type Hearth } from '../../src/runtime.ts';
import { describeEachDialect, type DialectContext } from '../dialects.ts';
import { ADMIN_KEY, eventually, SHOPIFY_SECRET } from '../harness.ts';
import { acmeConnector } from './descriptor.ts';
import { startAcmeVendor, type AcmeVendor } from './vendor.ts';

// The recipe in ARCHITECTURE.md, proven: a connector that lives only in this folder is registered
// here and runs through config validation, webhook ingress, address write-back and reconciliation.

const DESCRIPTORS = [...CONNECTORS, acmeConnector];
const ACME_SECRET = 'acme-webhook-secret';

test('config for a registered connector is validated by its own schema', () => {
  assert.throws(
    () =>
      parseConfig({ connectors: { acme: { base_url: 'not a url', webhook_secret: ACME_SECRET } } }, {}, DESCRIPTORS),
    /config connectors\.acme\.base_url/,
  );
  assert.throws(
    () => parseConfig({ writeback: { crm: 'acme' } }, {}, CONNECTORS),
    /writeback\.crm: "acme" is not one of/,
  );
  assert.ok(reconcilableNames(DESCRIPTORS).includes('acme'));
});

describeEachDialect('a throwaway connector, registered from a test folder', (ctx: DialectContext) => {
  let hearth: Hearth;
  let vendor: AcmeVendor;
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };
  const settled = () => eventually(() => isQuiet(ctx.hdb().db), 15_000, 'settled');
  const acmeWebhook = (body: unknown, signature?: string) => {
    const raw = JSON.stringify(body);
    const sig = signature ?? createHmac('sha256', ACME_SECRET).update(raw).digest('hex');
    return fetch(`${hearth.url}/webhooks/acme`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-acme-signature': sig },
      body: raw,
    });
  };
  const customerByEmail = async (email: string) =>
    (await hearth.app.inject({ method: 'GET', url: `/v1/customers?email=${email}`, headers: auth })).json().data[0];

  before(async () => {
    vendor = await startAcmeVendor();
    const config = parseConfig(
      {
        database: ctx.url(),
        server: { host: '127.0.0.1', port: 0 },
        jobs: { max_attempts: 4, base_delay_ms: 20, max_delay_ms: 200, poll_interval_ms: 20 },
        log: { level: 'silent' },
        connectors: {
          shopify: { webhook_secret: SHOPIFY_SECRET },
          acme: { base_url: vendor.url, webhook_secret: ACME_SECRET },
        },
        writeback: { crm: 'acme' },
      },
      { HEARTH_API_KEY: ADMIN_KEY },
      DESCRIPTORS,
    );
    hearth = await startHearth(config, { logger: createLogger('silent'), hdb: ctx.hdb(), migrate: false });
  });
  after(async () => {
    await hearth.close();
    await vendor.close();
  });

  test('ingress: a signed Acme webhook becomes a customer; a bad signature is a 401', async () => {
    const contact = {
      id: 'a-1',
      email: 'lia@example.com',
      first: 'Lia',
      last: 'Moss',
      street: '9 Birch Rd',
      city: 'Austin',
      state: 'TX',
      zip: '78701',
      country: 'US',
    };
    vendor.contacts.set(contact.id, { ...contact });
    assert.equal((await acmeWebhook({ delivery: 'd-1', contact }, 'bad')).status, 401);
    assert.equal((await acmeWebhook({ delivery: 'd-1', contact })).status, 200);
    await settled();
    const c = await customerByEmail('lia@example.com');
    assert.equal(c.address.line1, '9 Birch Rd');
  });

  test('write-back: a checkout correction reaches the Acme contact through the outbox', async () => {
    vendor.contacts.set('a-2', {
      id: 'a-2',
      email: 'tom@example.com',
      first: 'Tom',
      last: 'Reed',
      street: '1 Old Rd',
      city: 'Austin',
      state: 'TX',
      zip: '78701',
      country: 'US',
    });
    const order = buildOrder({
      order_id: 7001,
      customer_id: 8001,
      email: 'tom@example.com',
      first_name: 'Tom',
      last_name: 'Reed',
      address1: '500 Congress Ave',
      address2: null,
      city: 'Austin',
      province_code: 'TX',
      zip: '78701',
    });
    assert.equal(
      (
        await sendShopifyWebhook(
          `${hearth.url}/webhooks/shopify`,
          'orders/create',
          order,
          SHOPIFY_SECRET,
          'acme-order-1',
        )
      ).status,
      200,
    );
    await eventually(
      async () => vendor.contacts.get('a-2')!.street === '500 Congress Ave',
      15_000,
      'address written to Acme',
    );
    await settled();
    assert.equal(vendor.writes.filter((w) => w.id === 'a-2').length, 1, 'written once');
  });

  test('reconciliation: drift made in Acme is found and healed', async () => {
    await settled();
    vendor.contacts.get('a-2')!.street = '77 Elsewhere Ln';
    const run = (
      await hearth.app.inject({
        method: 'POST',
        url: '/v1/reconcile/runs',
        headers: auth,
        payload: { systems: ['acme'], wait: true },
      })
    ).json();
    assert.equal(run.status, 'done', JSON.stringify(run));
    assert.equal(run.jobs, 1, 'one heal job queued');
    const findings = (
      await hearth.app.inject({ method: 'GET', url: '/v1/reconcile/findings?system=acme&field=address', headers: auth })
    ).json().data;
    assert.ok(
      findings.some((f: { status: string }) => f.status === 'healing' || f.status === 'healed'),
      JSON.stringify(findings),
    );
    await eventually(
      async () => vendor.contacts.get('a-2')!.street === '500 Congress Ave',
      15_000,
      'drift healed in Acme',
    );
  });
});
