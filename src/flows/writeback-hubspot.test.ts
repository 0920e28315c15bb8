import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { startHubSpotSim, type HubSpotSim } from '../../sim/hubspot.ts';
import { buildOrder, sendShopifyWebhook } from '../../sim/shopify.ts';
import type { Hearth } from '../runtime.ts';
import { isQuiet } from '../engine/quiet.ts';
import { ADMIN_KEY, eventually, freePort, SHOPIFY_SECRET, startTestHearth } from '../../test-support/harness.ts';

const SECRET = 'hubspot-client-secret';
const APP_ID = '777001';

describeEachDialect('address write-back to HubSpot', (ctx) => {
  let hearth: Hearth;
  let crm: HubSpotSim;
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };
  const ship = (n: number, email: string, address1: string, address2: string | null, zip = '60614') =>
    sendShopifyWebhook(
      `${hearth.url}/webhooks/shopify`,
      'orders/create',
      buildOrder({
        order_id: 100 + n,
        customer_id: 900 + n,
        email,
        first_name: 'Ana',
        last_name: 'Diaz',
        address1,
        address2,
        city: 'Chicago',
        province_code: 'IL',
        zip,
      }),
      SHOPIFY_SECRET,
      `hs-${n}`,
    );
  const settled = () => eventually(() => isQuiet(ctx.hdb().db), 15_000, 'settled');

  before(async () => {
    const port = await freePort();
    crm = await startHubSpotSim({
      webhook: { url: `http://127.0.0.1:${port}/webhooks/hubspot`, client_secret: SECRET, app_id: APP_ID },
    });
    ({ hearth } = await startTestHearth(ctx, {
      port,
      connectors: { hubspot: { access_token: crm.token, base_url: crm.url, client_secret: SECRET, app_id: APP_ID } },
      writeback: { crm: 'hubspot', sync_window_seconds: 60 },
    }));
  });
  after(async () => {
    await hearth.close();
    await crm.close();
  });

  /** The customer Hearth linked to a HubSpot contact (the crosswalk). */
  const linkedCustomer = async (externalId: string) =>
    (
      await ctx
        .hdb()
        .db.selectFrom('source_links')
        .select('customer_id')
        .where('system', '=', 'hubspot')
        .where('external_id', '=', externalId)
        .executeTakeFirstOrThrow()
    ).customer_id;

  test('a checkout correction lands in the contact standard address fields, once, through 429 and 503', async () => {
    const id = crm.createContact({
      email: 'ana@example.com',
      firstname: 'Ana',
      lastname: 'Diaz',
      address: '14 Elm St',
      city: 'Springfield',
      state: 'IL',
      zip: '62701',
      country: 'US',
    });
    crm.faults.set({ rate_limit_next: 1, server_error_next: 1 });
    assert.equal((await ship(1, 'ana@example.com', '2200 N Lincoln Ave', 'Apt 4B')).status, 200);
    await settled();
    const c = crm.getContact(id)!;
    assert.deepEqual(
      [c.properties.address, c.properties.city, c.properties.state, c.properties.zip, c.properties.country],
      ['2200 N Lincoln Ave Apt 4B', 'Chicago', 'IL', '60614', 'US'],
    );
    assert.equal(crm.history(id).length, 1, 'written exactly once');
    const customer = (
      await hearth.app.inject({ method: 'GET', url: `/v1/customers?email=ana@example.com`, headers: auth })
    ).json().data[0];
    const jobs = (await hearth.app.inject({ method: 'GET', url: '/v1/jobs?target=hubspot&status=done', headers: auth }))
      .json()
      .data.filter((j: { customer_id: string }) => j.customer_id === customer.id);
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0].attempts, 3);
    assert.ok(jobs[0].lag_seconds < 60);
    const metrics = (await hearth.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /hearth_writeback_lag_seconds_count\{target="hubspot"\} [1-9]/);
    const full = (
      await hearth.app.inject({ method: 'GET', url: `/v1/customers/${customer.id}`, headers: auth })
    ).json();
    assert.ok(
      full.source_records.some(
        (l: { system: string; external_id: string }) => l.system === 'hubspot' && l.external_id === id,
      ),
      'crosswalk learned the CRM id',
    );
  });

  test('HubSpot reporting our own write back is an echo, not a change', async () => {
    const before = {
      email: 'cy@example.com',
      firstname: 'Cy',
      lastname: 'Park',
      address: '14 Elm St',
      city: 'Springfield',
      state: 'IL',
      zip: '62701',
      country: 'US',
    };
    const id = crm.createContact(before);
    await ship(6, 'cy@example.com', '1 E Erie St', null);
    await settled();
    // The simulator sends one webhook per write, one event per property the write changed.
    const [write] = crm.history(id);
    assert.ok(write, 'the correction was written');
    const changed = Object.entries(write.properties).filter(([k, v]) => before[k as keyof typeof before] !== v).length;
    assert.ok(changed > 0);
    const echoes = await eventually(
      async () => {
        const rows = (
          await ctx
            .hdb()
            .db.selectFrom('inbox_events')
            .select(['status', 'payload'])
            .where('connector', '=', 'hubspot')
            .execute()
        ).filter((r) => (JSON.parse(r.payload) as { external_id?: string }).external_id === id);
        return rows.length === changed && rows.every((r) => r.status !== 'pending') ? rows : null;
      },
      10_000,
      'echo deliveries received and applied',
    );
    assert.deepEqual(
      echoes.map((r) => r.status),
      echoes.map(() => 'echo'),
    );
    const fromCrm = await ctx
      .hdb()
      .db.selectFrom('change_log')
      .select('id')
      .where('source_system', '=', 'hubspot')
      .where('customer_id', '=', await linkedCustomer(id))
      .execute();
    assert.equal(fromCrm.length, 0);
  });

  test('the same delivery point spelled differently is not written again; a real move is', async () => {
    const id = crm.createContact({
      email: 'dee@example.com',
      firstname: 'Dee',
      lastname: 'Moss',
      address: '14 Elm St',
      city: 'Springfield',
      state: 'IL',
      zip: '62701',
      country: 'US',
    });
    await ship(7, 'dee@example.com', '2210 N Lincoln Ave', 'Apt 4B');
    await settled();
    assert.equal(crm.history(id).length, 1);
    await ship(8, 'dee@example.com', '2210 North Lincoln Avenue', 'Apartment 4-B', '60614-1234');
    await settled();
    assert.equal(crm.history(id).length, 1);
    await ship(9, 'dee@example.com', '9 Oak St', null);
    await settled();
    assert.equal(crm.history(id).length, 2);
    assert.equal(crm.getContact(id)!.properties.address, '9 Oak St');
  });

  test('a contact that already holds the delivery point in another spelling is left as it is, and linked', async () => {
    const id = crm.createContact({
      email: 'bo@example.com',
      firstname: 'Bo',
      lastname: 'Lee',
      address: '77 W Sunset Blvd Apt 4B',
      city: 'Chicago',
      state: 'IL',
      zip: '60614',
      country: 'US',
    });
    await ship(5, 'bo@example.com', '77 West Sunset Boulevard', 'Apartment 4-B', '60614-2201');
    await settled();
    assert.equal(crm.history(id).length, 0, 'nothing written: respelling is not a correction');
    assert.equal(crm.getContact(id)!.properties.address, '77 W Sunset Blvd Apt 4B');
    const link = await hearth.hdb.db
      .selectFrom('source_links')
      .select('customer_id')
      .where('system', '=', 'hubspot')
      .where('external_id', '=', id)
      .executeTakeFirst();
    assert.ok(link, 'crosswalk learned the CRM id');
    const jobs = (
      await hearth.app.inject({ method: 'GET', url: '/v1/jobs?target=hubspot&status=done', headers: auth })
    ).json().data;
    assert.ok(
      jobs.some((j: { customer_id: string }) => j.customer_id === link.customer_id),
      'the job settled as done',
    );
  });

  test('a CRM user renaming the contact updates Hearth (the CRM owns names)', async () => {
    const id = crm.createContact({
      email: 'eve@example.com',
      firstname: 'Ana',
      lastname: 'Diaz',
      address: '14 Elm St',
      city: 'Springfield',
      state: 'IL',
      zip: '62701',
      country: 'US',
    });
    await ship(10, 'eve@example.com', '350 W Ohio St', null);
    await settled();
    const customerId = await linkedCustomer(id);
    crm.updateFromUi(id, { firstname: 'Anabel' });
    const change = await eventually(
      async () =>
        ctx
          .hdb()
          .db.selectFrom('change_log')
          .selectAll()
          .where('source_system', '=', 'hubspot')
          .where('customer_id', '=', customerId)
          .where('field', '=', 'given_name')
          .executeTakeFirst(),
      10_000,
      'name change',
    );
    assert.equal(change.new_value, 'Anabel');
  });

  test('a customer the CRM does not have is a visible dead letter', async () => {
    await ship(4, 'nobody@example.com', '1 Market St', null);
    await settled();
    const dead = (
      await hearth.app.inject({ method: 'GET', url: '/v1/jobs?status=dead&target=hubspot', headers: auth })
    ).json().data;
    assert.equal(dead.length, 1);
    assert.equal(dead[0].last_error_kind, 'not_found');
    const late = (await hearth.app.inject({ method: 'GET', url: '/v1/writeback/late', headers: auth })).json();
    assert.equal(late.sync_window_seconds, 60);
  });
});
