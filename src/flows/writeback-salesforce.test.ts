import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { startSalesforceSim, type SalesforceSim } from '../../sim/salesforce.ts';
import { buildOrder, sendShopifyWebhook } from '../../sim/shopify.ts';
import type { Hearth } from '../runtime.ts';
import { isQuiet } from '../engine/quiet.ts';
import { eventually, freePort, SHOPIFY_SECRET, startTestHearth } from '../../test-support/harness.ts';

const CDC_SECRET = 'cdc-relay-secret';

describeEachDialect('address write-back to Salesforce', (ctx) => {
  let hearth: Hearth;
  let crm: SalesforceSim;
  const settled = () => eventually(() => isQuiet(ctx.hdb().db), 15_000, 'settled');

  before(async () => {
    const port = await freePort();
    crm = await startSalesforceSim({
      cdc: { url: `http://127.0.0.1:${port}/webhooks/salesforce`, secret: CDC_SECRET },
    });
    ({ hearth } = await startTestHearth(ctx, {
      port,
      connectors: {
        salesforce: {
          instance_url: crm.url,
          access_token: crm.token,
          client_id: 'hearth-test',
          cdc_secret: CDC_SECRET,
        },
      },
      writeback: { crm: 'salesforce' },
    }));
  });
  after(async () => {
    await hearth.close();
    await crm.close();
  });

  test('Mailing* fields are written through jsforce, after a 503; the CDC echo is recognised', async () => {
    const id = crm.createContact({
      Email: 'lee@example.com',
      FirstName: 'Lee',
      LastName: 'Park',
      MailingStreet: '1 Old Rd',
      MailingCity: 'Austin',
      MailingState: 'TX',
      MailingPostalCode: '78701',
      MailingCountry: 'US',
    });
    crm.faults.set({ server_error_next: 1 });
    const order = buildOrder({
      order_id: 1,
      customer_id: 11,
      email: 'lee@example.com',
      first_name: 'Lee',
      last_name: 'Park',
      address1: '500 Congress Ave',
      address2: 'Suite 300',
      city: 'Austin',
      province_code: 'TX',
      zip: '78701',
    });
    assert.equal(
      (await sendShopifyWebhook(`${hearth.url}/webhooks/shopify`, 'orders/create', order, SHOPIFY_SECRET, 'sf-1'))
        .status,
      200,
    );
    await settled();
    const c = crm.getContact(id)!;
    assert.deepEqual(
      [c.MailingStreet, c.MailingCity, c.MailingState, c.MailingPostalCode],
      ['500 Congress Ave\nSuite 300', 'Austin', 'TX', '78701'],
    );
    assert.equal(crm.history(id).length, 1);
    // The simulator relays one change event per write; wait until it is stored and applied.
    const events = await eventually(
      async () => {
        const rows = (
          await ctx
            .hdb()
            .db.selectFrom('inbox_events')
            .select(['status', 'payload'])
            .where('connector', '=', 'salesforce')
            .execute()
        ).filter((r) => (JSON.parse(r.payload) as { external_id?: string }).external_id === id);
        return rows.length && rows.every((r) => r.status !== 'pending') ? rows : null;
      },
      10_000,
      'CDC echo received and applied',
    );
    assert.deepEqual(
      events.map((e) => e.status),
      ['echo'],
    );
  });

  test('a Contact that already holds the delivery point in another spelling is not rewritten', async () => {
    const id = crm.createContact({
      Email: 'kim@example.com',
      FirstName: 'Kim',
      LastName: 'Ng',
      MailingStreet: '500 Congress Avenue\nSte 300',
      MailingCity: 'Austin',
      MailingState: 'Texas',
      MailingPostalCode: '78701-1234',
      MailingCountry: 'US',
    });
    const order = buildOrder({
      order_id: 2,
      customer_id: 12,
      email: 'kim@example.com',
      first_name: 'Kim',
      last_name: 'Ng',
      address1: '500 Congress Ave',
      address2: 'Suite 300',
      city: 'Austin',
      province_code: 'TX',
      zip: '78701',
    });
    assert.equal(
      (await sendShopifyWebhook(`${hearth.url}/webhooks/shopify`, 'orders/create', order, SHOPIFY_SECRET, 'sf-2'))
        .status,
      200,
    );
    await settled();
    assert.equal(crm.history(id).length, 0);
    assert.equal(crm.getContact(id)!.MailingStreet, '500 Congress Avenue\nSte 300');
    const link = await ctx
      .hdb()
      .db.selectFrom('source_links')
      .select('customer_id')
      .where('system', '=', 'salesforce')
      .where('external_id', '=', id)
      .executeTakeFirst();
    assert.ok(link, 'crosswalk learned the Contact id');
  });

  test('a bad relay signature is refused', async () => {
    const res = await fetch(`${hearth.url}/webhooks/salesforce`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hearth-signature': 'sha256=00' },
      body: '{}',
    });
    assert.equal(res.status, 401);
  });
});
