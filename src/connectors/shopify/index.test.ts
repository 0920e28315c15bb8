import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HearthError } from '../../errors.ts';
import { buildOrder, signShopifyDelivery } from '../../../sim/shopify.ts';
import { createShopifyConnector } from './index.ts';

const secret = 'shpss_unit';
const connector = createShopifyConnector({ webhook_secret: secret });
const req = (d: { body: string; headers: Record<string, string> }) => ({
  rawBody: Buffer.from(d.body),
  headers: d.headers,
  method: 'POST',
  url: 'http://h/webhooks/shopify',
  now: 1_000,
});
const order = buildOrder({
  order_id: 1001,
  customer_id: 7,
  email: 'Jane@Example.com',
  first_name: 'Jane',
  last_name: 'Doe',
  address1: '1 Main St',
  address2: 'Apt 4',
  city: 'Springfield',
  province_code: 'IL',
  zip: '62701',
  created_at: '2024-05-02T10:00:00-04:00',
});

test('verifies the HMAC of the exact raw bytes', () => {
  const d = signShopifyDelivery('orders/create', order, secret, 'ev-1');
  assert.deepEqual(connector.ingress!.verify(req(d)), { ok: true });
  assert.equal(connector.ingress!.verify(req({ ...d, body: d.body.replace('Jane', 'Jone') })).ok, false);
  assert.equal(connector.ingress!.verify(req(signShopifyDelivery('orders/create', order, 'other', 'ev-1'))).ok, false);
  const { 'x-shopify-hmac-sha256': _, ...noSig } = d.headers;
  assert.deepEqual(connector.ingress!.verify(req({ ...d, headers: noSig })), {
    ok: false,
    error: 'missing X-Shopify-Hmac-Sha256 header',
  });
});

test('orders/create becomes checkout.address_confirmed keyed by X-Shopify-Event-Id', () => {
  const [e] = connector.ingress!.parse(req(signShopifyDelivery('orders/create', order, secret, 'ev-2')));
  assert.equal(e!.delivery_id, 'ev-2');
  assert.deepEqual(e!.event, {
    type: 'checkout.address_confirmed',
    source: 'shopify',
    external_id: '7',
    order_id: '#1001',
    contact: { given_name: 'Jane', family_name: 'Doe', email: 'Jane@Example.com', phone: null },
    address: {
      line1: '1 Main St',
      line2: 'Apt 4',
      city: 'Springfield',
      region: 'IL',
      postal_code: '62701',
      country: 'US',
    },
    occurred_at: Date.parse('2024-05-02T10:00:00-04:00'),
  });
});

test('customers/update becomes contact.updated; other topics are unsupported', () => {
  const customer = {
    id: 7,
    email: 'j@x.com',
    first_name: 'J',
    last_name: 'D',
    phone: '+13125551212',
    default_address: { address1: '2 Elm St', city: 'Peoria', province_code: 'IL', zip: '61602', country_code: 'US' },
  };
  const [e] = connector.ingress!.parse(req(signShopifyDelivery('customers/update', customer, secret, 'ev-3')));
  assert.equal(e!.event.type, 'contact.updated');
  assert.equal(e!.event.type === 'contact.updated' && e!.event.contact.address?.line1, '2 Elm St');
  const [u] = connector.ingress!.parse(req(signShopifyDelivery('products/update', { id: 1 }, secret, 'ev-4')));
  assert.deepEqual(u!.event, { type: 'unsupported', source: 'shopify', vendor_type: 'products/update' });
});

test('bad payloads are rejected with the field named', () => {
  const parse =
    (topic: string, body: unknown, headers: Record<string, string> = {}) =>
    () => {
      const d = signShopifyDelivery(topic, body, secret, 'ev-x');
      connector.ingress!.parse(req({ ...d, headers: { ...d.headers, ...headers } }));
    };
  const field = (fn: () => void, expected: string) =>
    assert.throws(fn, (err: HearthError) => err.code === 'bad_request' && err.details?.field === expected);
  field(parse('orders/create', { ...order, id: undefined }), 'id');
  field(parse('orders/create', { ...order, shipping_address: { address1: '' } }), 'shipping_address.address1');
  field(parse('orders/create', [1, 2]), 'body');
  field(parse('orders/create', order, { 'x-shopify-topic': '' }), 'X-Shopify-Topic');
  const noShip = connector.ingress!.parse(
    req(signShopifyDelivery('orders/create', { ...order, shipping_address: null }, secret, 'ev-5')),
  );
  assert.equal(noShip[0]!.event.type, 'unsupported');
});
