import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { signShopifyDelivery } from '../../../sim/shopify.ts';
import { startShopifyAdminSim } from '../../../sim/shopify-admin.ts';
import { describeEachDialect } from '../../../test-support/dialects.ts';
import { eventually, SHOPIFY_SECRET, startTestHearth } from '../../../test-support/harness.ts';

const RELAY_SECRET = 'relay-secret-e2e';
const SF_ID = '0035g00000AbCdEAAZ';

describeEachDialect('Shopify default address follows a CRM-side change', (ctx) => {
  test('a Salesforce address change reaches the Shopify customer; the customers/update echo is dropped', async () => {
    const sim = await startShopifyAdminSim();
    sim.addCustomer({
      id: 7,
      email: 'jane@example.com',
      firstName: 'Jane',
      lastName: 'Doe',
      phone: null,
      defaultAddress: {
        address1: '1 Main St',
        city: 'Springfield',
        provinceCode: 'IL',
        zip: '62701',
        countryCodeV2: 'US',
      },
    });
    const { hearth } = await startTestHearth(ctx, {
      connectors: {
        shopify: {
          webhook_secret: SHOPIFY_SECRET,
          admin: {
            shop: 'hearth-demo.myshopify.com',
            access_token: sim.token,
            admin_url: sim.url,
            address_writeback: true,
          },
        },
        salesforce: { instance_url: 'http://127.0.0.1:9', access_token: 'unused', cdc_secret: RELAY_SECRET },
      },
      // The CRM's address wins over the storefront's: a CRM-side change should reach Shopify.
      ownership: { address: ['salesforce', 'shopify'] },
    });
    const db = ctx.hdb().db;
    const shopifyHook = async (topic: string, body: unknown, id: string) => {
      const d = signShopifyDelivery(topic, body, SHOPIFY_SECRET, id);
      const res = await hearth.app.inject({
        method: 'POST',
        url: '/webhooks/shopify',
        headers: d.headers,
        payload: d.body,
      });
      assert.equal(res.statusCode, 200, res.body);
    };
    const status = async (connector: string, delivery: string) =>
      (
        await db
          .selectFrom('inbox_events')
          .select('status')
          .where('connector', '=', connector)
          .where('delivery_id', '=', delivery)
          .executeTakeFirst()
      )?.status;
    try {
      const shopifyCustomer = {
        id: 7,
        email: 'jane@example.com',
        first_name: 'Jane',
        last_name: 'Doe',
        phone: null,
        default_address: {
          address1: '1 Main St',
          city: 'Springfield',
          province_code: 'IL',
          zip: '62701',
          country_code: 'US',
        },
      };
      await shopifyHook('customers/create', shopifyCustomer, 'ev-create');
      await eventually(
        async () => (await status('shopify', 'ev-create')) === 'applied',
        10_000,
        'the Shopify customer',
      );

      const relay = JSON.stringify({
        replayId: 8001,
        ChangeEventHeader: {
          entityName: 'Contact',
          recordIds: [SF_ID],
          changeType: 'UPDATE',
          changeOrigin: '',
          commitTimestamp: Date.now(),
          changedFields: ['MailingAddress.Street', 'MailingAddress.City', 'MailingAddress.PostalCode'],
        },
        Email: 'jane@example.com',
        MailingAddress: { Street: '9 Oak Ave', City: 'Peoria', State: 'IL', PostalCode: '61602', Country: 'US' },
      });
      const sig = createHmac('sha256', RELAY_SECRET).update(relay).digest('hex');
      const res = await hearth.app.inject({
        method: 'POST',
        url: '/webhooks/salesforce',
        headers: { 'content-type': 'application/json', 'x-hearth-signature': `sha256=${sig}` },
        payload: relay,
      });
      assert.equal(res.statusCode, 200, res.body);
      await eventually(async () => sim.customer(7)!.defaultAddress!.address1 === '9 Oak Ave', 15_000, 'the write');
      assert.equal(sim.addressWrites, 1);
      // The values read back with the write are remembered when the job settles, just after the
      // vendor answered: Shopify's webhook comes later than that; on a loaded machine the test could
      // otherwise beat the settle.
      await eventually(
        async () =>
          (await db.selectFrom('jobs').select('status').where('target', '=', 'shopify').execute()).every(
            (j) => j.status === 'done' || j.status === 'superseded',
          ),
        15_000,
        'the write settled',
      );

      // Shopify reports the change back: every value is one Hearth wrote or read, so it is an echo.
      await shopifyHook(
        'customers/update',
        {
          ...shopifyCustomer,
          default_address: {
            address1: '9 Oak Ave',
            address2: null,
            city: 'Peoria',
            province_code: 'IL',
            zip: '61602',
            country_code: 'US',
          },
        },
        'ev-echo',
      );
      await eventually(async () => (await status('shopify', 'ev-echo')) === 'echo', 10_000, 'the echo dropped');
      assert.equal(sim.addressWrites, 1, 'no write-back ping-pong');
    } finally {
      await hearth.close();
      await sim.close();
    }
  });
});
