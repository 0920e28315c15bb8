import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createShopifyConnector } from '../connectors/shopify/index.ts';
import { parseConfig } from '../config/loader.ts';
import { HearthError } from '../errors.ts';
import { buildOrder, buildRefund, signShopifyDelivery } from '../../sim/shopify.ts';
import { leavesPool } from '../flows/membership-change.ts';
import { parseExportDate, readOrdersExport } from './orders-csv.ts';
import { loyaltySettings } from '../config/derive.ts';
import { pointsFor, reversalPoints, splitShare, tierFor, toMinor } from './tiers.ts';

const tiers = [
  { name: 'gold', min_spend_minor: 30_000 },
  { name: 'silver', min_spend_minor: 10_000 },
  { name: 'member', min_spend_minor: 0 },
];

test('tiers: the highest tier whose minimum is reached; none below the lowest minimum', () => {
  assert.equal(tierFor(0, tiers), 'member');
  assert.equal(tierFor(9_999, tiers), 'member');
  assert.equal(tierFor(10_000, tiers), 'silver');
  assert.equal(tierFor(45_000, tiers), 'gold');
  assert.equal(tierFor(500, [{ name: 'vip', min_spend_minor: 1000 }]), null);
});

test('points, refunds pro rata and split shares', () => {
  assert.equal(pointsFor(4_250, 1), 42);
  assert.equal(pointsFor(4_250, 2.5), 106);
  assert.equal(pointsFor(1_000, 0), 0);
  assert.equal(toMinor('59.00'), 5_900);
  assert.equal(toMinor('1,234.5'), 123_450);
  assert.equal(toMinor('abc'), null);
  assert.equal(reversalPoints(200, 20_000, 5_000), 50);
  assert.equal(reversalPoints(200, 20_000, 90_000), 200);
  assert.equal(reversalPoints(200, 20_000, null), 200);
  assert.equal(splitShare(80, 50), 50);
  assert.equal(splitShare(-10, 50), 0);
  assert.equal(splitShare(30, 50), 30);
});

test('who leaves the pool: opt-out, leaving, moving; not a role change', () => {
  const m = (household_id: string, opt: boolean) => ({
    household_id,
    customer_id: 'cus_1',
    role: 'member' as const,
    points_aggregation_opt_in: opt,
    valid_from: 1,
    valid_to: null,
  });
  assert.equal(leavesPool(m('hh_a', true), undefined), true);
  assert.equal(leavesPool(m('hh_a', true), m('hh_a', false)), true);
  assert.equal(leavesPool(m('hh_a', true), m('hh_b', true)), true);
  assert.equal(leavesPool(m('hh_a', true), { ...m('hh_a', true), role: 'head' }), false);
  assert.equal(leavesPool(m('hh_a', false), undefined), false);
});

test('Shopify export dates and orders: first row carries the order, later rows count as line rows', () => {
  assert.equal(parseExportDate('2024-05-01 10:00:00 -0400'), Date.parse('2024-05-01T14:00:00Z'));
  assert.equal(parseExportDate('2024-05-01T10:00:00Z'), Date.parse('2024-05-01T10:00:00Z'));
  assert.ok(Number.isNaN(parseExportDate('May 1st')));
  const csv =
    'Name,Email,Currency,Total,Created at,Lineitem name,Refunded Amount,Cancelled at,Id\n' +
    '#1001,jane@example.com,USD,59.00,2024-05-01 10:00:00 -0400,Serum,10.00,,5210000000001\n' +
    '#1001,,,,,Cream,,,\n' +
    '#1002,,USD,12.00,2024-05-02 10:00:00 -0400,Soap,,2024-05-03 09:00:00 -0400,\n';
  const [a, b] = readOrdersExport(csv);
  assert.deepEqual(a, {
    name: '#1001',
    id: '5210000000001',
    email: 'jane@example.com',
    currency: 'USD',
    total_minor: 5_900,
    refunded_minor: 1_000,
    created_at: Date.parse('2024-05-01T14:00:00Z'),
    cancelled: false,
    line_rows: 2,
    line: 2,
  });
  assert.equal(b!.email, null);
  assert.equal(b!.id, null);
  assert.equal(b!.cancelled, true);
  assert.throws(
    () => readOrdersExport('Name,Email,Total,Created at\n#1,a@b.c,1.00,yesterday\n', 'x.csv'),
    (e: HearthError) => e.code === 'invalid_input' && /x\.csv line 2: Created at "yesterday"/.test(e.message),
  );
});

test('loyalty config: defaults, tiers sorted highest first, bad values named', () => {
  const s = loyaltySettings(
    parseConfig({
      loyalty: {
        tiers: [
          { name: 'base', min_spend: 0 },
          { name: 'vip', min_spend: 1000 },
        ],
      },
    }),
  );
  assert.deepEqual(
    s.tiers.map((t) => t.name),
    ['vip', 'base'],
  );
  assert.equal(s.split_policy, 'stays_with_household');
  assert.equal(s.adjustment_alert_rate, 0.02);
  assert.throws(
    () => parseConfig({ loyalty: { split_policy: 'half' } }),
    (e: HearthError) => e.code === 'invalid_config' && /loyalty\.split_policy/.test(e.message),
  );
  assert.throws(
    () => parseConfig({ loyalty: { tiers: [] } }),
    (e: HearthError) => e.code === 'invalid_config' && /loyalty\.tiers/.test(e.message),
  );
});

test('Shopify: orders/create also yields the order; orders/cancelled and refunds/create yield reversals', () => {
  const shopify = createShopifyConnector({ webhook_secret: 's3cret' });
  const req = (topic: string, body: unknown, id: string) => {
    const d = signShopifyDelivery(topic, body, 's3cret', id);
    return {
      rawBody: Buffer.from(d.body),
      headers: d.headers,
      method: 'POST',
      url: '/webhooks/shopify',
      now: Date.now(),
    };
  };
  const order = buildOrder({
    order_id: 5001,
    customer_id: 7001,
    email: 'jane@example.com',
    first_name: 'Jane',
    last_name: 'Doe',
    address1: '1 Main St',
    city: 'Springfield',
    province_code: 'IL',
    zip: '62701',
    total_price: '120.50',
    created_at: '2024-05-02T10:00:00-04:00',
  });
  const events = shopify.ingress!.parse(req('orders/create', order, 'ev-1'));
  assert.deepEqual(
    events.map((e) => [e.delivery_id, e.event.type]),
    [
      ['ev-1', 'checkout.address_confirmed'],
      ['ev-1:order', 'order.placed'],
    ],
  );
  assert.deepEqual(events[1]!.event, {
    type: 'order.placed',
    source: 'shopify',
    external_id: '7001',
    contact: { given_name: 'Jane', family_name: 'Doe', email: 'jane@example.com' },
    order_id: '5001',
    order_name: '#5001',
    total_minor: 12_050,
    currency: 'USD',
    line_count: 1,
    occurred_at: Date.parse('2024-05-02T10:00:00-04:00'),
  });
  const [cancel] = shopify.ingress!.parse(
    req('orders/cancelled', { ...order, cancelled_at: '2024-05-03T10:00:00-04:00' }, 'ev-2'),
  );
  assert.equal(cancel!.event.type === 'order.reversed' && cancel!.event.reason, 'cancelled');
  const [refund] = shopify.ingress!.parse(
    req('refunds/create', buildRefund(88, 5001, '20.25', '2024-05-04T10:00:00Z'), 'ev-3'),
  );
  assert.deepEqual(refund!.event, {
    type: 'order.reversed',
    source: 'shopify',
    external_id: null,
    contact: {},
    order_id: '5001',
    reason: 'refunded',
    refund_id: '88',
    amount_minor: 2_025,
    occurred_at: Date.parse('2024-05-04T10:00:00Z'),
  });
  assert.throws(
    () => shopify.ingress!.parse(req('refunds/create', { id: 1 }, 'ev-4')),
    (e: HearthError) => e.code === 'bad_request' && e.details?.field === 'order_id',
  );
});
