import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PROFILE_PROJECT, type OutboundJob, type ProfileProjectPayload } from '../../canonical/types.ts';
import { signShopifyDelivery } from '../../../sim/shopify.ts';
import { startShopifyAdminSim, type ShopifyAdminSim } from '../../../sim/shopify-admin.ts';
import { createShopifyConnector } from './index.ts';

let sim: ShopifyAdminSim;
before(async () => {
  sim = await startShopifyAdminSim();
  sim.addCustomer({
    id: 7,
    email: 'jane@example.com',
    firstName: 'Jane',
    lastName: 'Doe',
    phone: '+13125551212',
    defaultAddress: {
      address1: '1 Main St',
      city: 'Springfield',
      provinceCode: 'IL',
      zip: '62701',
      countryCodeV2: 'US',
    },
  });
  sim.addCustomer({
    id: 8,
    email: 'no.address@example.com',
    firstName: 'No',
    lastName: 'Address',
    phone: null,
    defaultAddress: null,
  });
});
after(() => sim.close());

const connector = () =>
  createShopifyConnector({
    webhook_secret: 'shpss_unit',
    admin: {
      shop: 'hearth-demo.myshopify.com',
      access_token: sim.token,
      api_version: '2026-10',
      admin_url: sim.url,
      address_writeback: true,
    },
  });

const job = (p: Partial<ProfileProjectPayload>): OutboundJob =>
  ({
    id: `job-${Math.random()}`,
    kind: PROFILE_PROJECT,
    target: 'shopify',
    attempts: 0,
    payload: {
      customer_id: 'cus_1',
      external_id: null,
      given_name: 'Jane',
      family_name: 'Doe',
      email: 'jane@example.com',
      phone: null,
      address: null,
      household_id: null,
      hierarchy_role: null,
      loyalty_tier: null,
      points_balance: 0,
      billing_status: null,
      billing_status_since: null,
      billing_address: null,
      subscriptions: [],
      ...p,
    },
  }) as unknown as OutboundJob;

const moved = { line1: '9 Oak Ave', line2: null, city: 'Peoria', region: 'IL', postal_code: '61602', country: 'US' };

test('a CRM-side address reaches the Shopify default address; its echo is recognisable', async () => {
  const c = connector();
  assert.deepEqual(c.outbound!.kinds, [PROFILE_PROJECT]);
  const [r] = await c.outbound!.deliver([job({ external_id: '7', address: moved })]);
  assert.equal(r!.ok, true, JSON.stringify(r));
  assert.equal(sim.customer(7)!.defaultAddress!.address1, '9 Oak Ave');
  assert.equal(sim.addressWrites, 1);
  // Shopify then sends customers/update: every value it reports is one Hearth wrote or held, so
  // the echo check (all vendor fields fingerprinted) drops it.
  const echo = signShopifyDelivery(
    'customers/update',
    {
      id: 7,
      email: 'jane@example.com',
      first_name: 'Jane',
      last_name: 'Doe',
      phone: '+13125551212',
      default_address: {
        address1: '9 Oak Ave',
        address2: null,
        city: 'Peoria',
        province_code: 'IL',
        zip: '61602',
        country_code: 'US',
      },
    },
    'shpss_unit',
    'ev-echo',
  );
  const [e] = c.ingress!.parse({
    rawBody: Buffer.from(echo.body),
    headers: echo.headers,
    method: 'POST',
    url: 'http://h',
    now: 1,
  });
  assert.ok(r!.ok && e!.event.type === 'contact.updated');
  assert.deepEqual(e!.event.type === 'contact.updated' && e!.event.vendor_fields, r!.ok && r!.written);
  // Before the call, the address part is fingerprinted under the same names.
  const expected = c.outbound!.expectedWrites!(job({ external_id: '7', address: moved }))!;
  for (const [k, v] of Object.entries(expected.written))
    assert.equal((r as { written: Record<string, unknown> }).written[k], v);
});

test('the same delivery point is not rewritten; no address, no Shopify customer: nothing to do', async () => {
  const c = connector();
  const before = sim.addressWrites;
  const respelled = { ...moved, line1: '9 Oak Avenue' };
  const [same] = await c.outbound!.deliver([job({ external_id: '7', address: respelled })]);
  assert.ok(same!.ok && same!.unchanged && !same!.written);
  const [none] = await c.outbound!.deliver([job({ external_id: '7', address: null })]);
  assert.ok(none!.ok);
  const [stranger] = await c.outbound!.deliver([job({ email: 'nobody@example.com', address: moved })]);
  assert.ok(stranger!.ok && !stranger!.external_id);
  assert.equal(sim.addressWrites, before);
});

test('found by email, a customer without a default address gets one created as the default', async () => {
  const [r] = await connector().outbound!.deliver([job({ email: 'No.Address@example.com', address: moved })]);
  assert.ok(r!.ok && r!.external_id === '8', JSON.stringify(r));
  assert.equal(sim.customer(8)!.defaultAddress!.city, 'Peoria');
});

test('without address_writeback Shopify stays ingress-only', () => {
  assert.equal(createShopifyConnector({ webhook_secret: 'x' }).outbound, undefined);
});
