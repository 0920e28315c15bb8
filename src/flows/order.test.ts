import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { buildOrder, buildRefund, signShopifyDelivery } from '../../sim/shopify.ts';
import { startReceiver, type Receiver } from '../../sim/receiver.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { createApiKey } from '../http/auth.ts';
import type { Hearth } from '../runtime.ts';
import { ADMIN_KEY, eventually, SHOPIFY_SECRET, startTestHearth } from '../../test-support/harness.ts';
import { balanceOf, poolBalance } from '../loyalty/ledger-store.ts';
import { addCustomer, addHousehold, join } from '../../test-support/loyalty-fixtures.ts';
import { type LoyaltySettings } from '../loyalty/settings.ts';
import { loyaltySettings } from '../config/derive.ts';

interface Hook {
  id: string;
  type: string;
  schema_version: number;
  created_at: string;
  data: Record<string, unknown>;
}

describeEachDialect('orders through the ledger, enriched to the loyalty webhook, and the loyalty API', (ctx) => {
  let hearth: Hearth;
  let receiver: Receiver;
  /** An unpinned subscriber: the latest event shapes (order.enriched version 2). */
  let latest: Receiver;
  let hh: string;
  let ann: string;
  let ben: string;
  let operator: string;
  let readonly: string;
  let settings: LoyaltySettings;
  const db = () => ctx.hdb().db;
  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  const post = (topic: string, payload: unknown, eventId: string) => {
    const d = signShopifyDelivery(topic, payload, SHOPIFY_SECRET, eventId);
    return hearth.app.inject({ method: 'POST', url: '/webhooks/shopify', headers: d.headers, payload: d.body });
  };
  const order = (id: number, customer: number, email: string, total: string) =>
    buildOrder({
      order_id: id,
      customer_id: customer,
      email,
      first_name: email.split('@')[0]!,
      last_name: 'Rivera',
      address1: '12 Oak Avenue',
      city: 'Springfield',
      province_code: 'IL',
      zip: '62701',
      total_price: total,
    });
  const hooks = (type: string, r = receiver) => r.received.map((x) => x.body as Hook).filter((b) => b.type === type);

  before(async () => {
    receiver = await startReceiver();
    latest = await startReceiver();
    let config;
    ({ hearth, config } = await startTestHearth(ctx, {
      loyalty: {
        tiers: [
          { name: 'member', min_spend: 0 },
          { name: 'silver', min_spend: 100 },
          { name: 'gold', min_spend: 300 },
        ],
        redemption_authority: 'any_opted_in',
        split_policy: 'stays_with_household',
      },
      connectors: {
        webhook: {
          targets: [
            {
              name: 'loyalty',
              url: receiver.url,
              secret: 'whsec_loyalty1',
              events: ['order.enriched', 'tier.changed'],
              // Pinned: keeps receiving the version 1 shapes while version 2 exists.
              schema_version: 1,
            },
            { name: 'loyalty_next', url: latest.url, secret: 'whsec_loyalty2', events: ['order.enriched'] },
          ],
        },
      },
    }));
    settings = loyaltySettings(config);
    const now = Date.now();
    hh = await addHousehold(db(), 'rivera', now);
    ann = await addCustomer(db(), 'ann@example.com', now);
    ben = await addCustomer(db(), 'ben@example.com', now);
    await join(db(), ann, { household_id: hh, role: 'head', opt_in: true }, now - 1000, settings);
    await join(db(), ben, { household_id: hh, role: 'member', opt_in: true }, now - 1000, settings);
    operator = (await createApiKey(db(), 'pos', 'operator', now)).key;
    readonly = (await createApiKey(db(), 'viewer', 'readonly', now)).key;
  });
  after(async () => {
    await hearth.close();
    await receiver.close();
    await latest.close();
  });

  test(
    'an order webhook earns into the household pool and is ' + 'forwarded enriched; both members reach gold together',
    async () => {
      const res = await post('orders/create', order(9001, 501, 'ann@example.com', '250.00'), 'ev-9001');
      assert.deepEqual(res.json(), { accepted: 2, duplicates: 0 });
      await eventually(async () => hooks('order.enriched').length === 1, 10_000, 'first enriched order');
      await post('orders/create', order(9002, 502, 'ben@example.com', '100.00'), 'ev-9002');
      const enriched = await eventually(
        async () => {
          const h = hooks('order.enriched');
          return h.length === 2 ? h : null;
        },
        10_000,
        'second enriched order',
      );
      const second = enriched.find((h) => (h.data.order as { id: string }).id === '9002')!;
      assert.equal(second.data.household_id, hh);
      assert.equal(second.data.hierarchy_role, 'member');
      assert.equal(second.data.points_aggregation_opt_in, true);
      assert.equal(second.data.tier, 'gold');
      assert.deepEqual(second.data.customer, { id: ben, email: 'ben@example.com', external_id: '502' });
      assert.deepEqual(second.data.loyalty, { account_id: hh, points_earned: 100, balance: 350 });
      assert.equal((second.data.order as { total: number }).total, 100);
      // The pinned subscriber got exactly the version 1 body; the unpinned one the same order as version 2.
      assert.deepEqual(Object.keys(second).sort(), ['created_at', 'data', 'id', 'schema_version', 'type']);
      assert.equal(second.schema_version, 1);
      assert.deepEqual(Object.keys(second.data.order as object).sort(), [
        'created_at',
        'currency',
        'id',
        'line_count',
        'name',
        'source',
        'total',
      ]);
      const next = await eventually(
        async () => hooks('order.enriched', latest).find((h) => (h.data.order as { id: string }).id === '9002'),
        10_000,
        'the unpinned subscriber got version 2',
      );
      const headers = latest.received.find((r) => (r.body as Hook).id === next.id)!.headers;
      assert.equal(headers['x-hearth-schema-version'], '2');
      const { total: _total, ...order1 } = second.data.order as Record<string, unknown>;
      assert.deepEqual(next, {
        ...second,
        id: next.id,
        schema_version: 2,
        data: {
          ...second.data,
          order: { ...order1, total_minor: 10_000 },
          tier: { name: 'gold', basis: 'household', basis_id: hh },
        },
      });
      // Every delivered event, of either version, matches the schema Hearth publishes for that version.
      const published = (await hearth.app.inject({ method: 'GET', url: '/v1/schemas', headers: as(readonly) })).json()
        .data as { type: string; version: number; schema: object }[];
      const ajv = new Ajv2020({ strict: false });
      ajv.addFormat('date-time', true);
      const delivered = [...receiver.received, ...latest.received].map((r) => r.body as Hook);
      assert.deepEqual([...new Set(delivered.map((h) => `${h.type}@${h.schema_version}`))].sort(), [
        'order.enriched@1',
        'order.enriched@2',
        'tier.changed@1',
      ]);
      for (const h of delivered) {
        const s = published.find((x) => x.type === h.type && x.version === h.schema_version);
        assert.ok(s, `a published schema for ${h.type} version ${h.schema_version}`);
        assert.ok(ajv.validate(s.schema, h), `${h.type}@${h.schema_version}: ${ajv.errorsText()}`);
        const other = published.find((x) => x.type === h.type && x.version !== h.schema_version);
        if (other) assert.equal(ajv.validate(other.schema, h), false, 'versions 1 and 2 are told apart');
      }
      assert.equal(await poolBalance(db(), hh), 350);
      const gold = await eventually(
        async () => {
          const t = hooks('tier.changed').filter((h) => h.data.tier === 'gold');
          return t.length === 2 ? t : null;
        },
        10_000,
        'tier changes',
      );
      assert.deepEqual(gold.map((h) => h.data.customer_id).sort(), [ann, ben].sort());
      const customer = (
        await hearth.app.inject({ method: 'GET', url: `/v1/customers/${ben}`, headers: as(readonly) })
      ).json();
      assert.deepEqual(
        [
          customer.household_id,
          customer.hierarchy_role,
          customer.points_aggregation_opt_in,
          customer.tier,
          customer.points_balance,
        ],
        [hh, 'member', true, 'gold', 0],
        'pooled points are not on the individual account',
      );
    },
  );

  test('a repeated webhook, or the same order under another event id, never credits twice', async () => {
    assert.deepEqual((await post('orders/create', order(9001, 501, 'ann@example.com', '250.00'), 'ev-9001')).json(), {
      accepted: 0,
      duplicates: 2,
    });
    await post('orders/create', order(9001, 501, 'ann@example.com', '250.00'), 'ev-9001-again');
    await eventually(
      async () =>
        (
          await db()
            .selectFrom('inbox_events')
            .select('status')
            .where('delivery_id', '=', 'ev-9001-again:order')
            .executeTakeFirst()
        )?.status === 'applied',
      10_000,
      'apply',
    );
    assert.equal(await poolBalance(db(), hh), 350);
    assert.equal(hooks('order.enriched').length, 2);
  });

  test('a refund reverses its share of the points from the account the order credited', async () => {
    await post('refunds/create', buildRefund(77, 9002, '40.00'), 'ev-refund-77');
    await eventually(async () => (await poolBalance(db(), hh)) === 310, 10_000, 'refund reversed');
    await post(
      'orders/cancelled',
      { ...order(9002, 502, 'ben@example.com', '100.00'), cancelled_at: new Date().toISOString() },
      'ev-cancel-9002',
    );
    await eventually(async () => (await poolBalance(db(), hh)) === 250, 10_000, 'cancellation reversed');
    // The household's qualifying spend fell to 250.00: both members drop back to silver together.
    const silver = await eventually(
      async () => {
        const t = hooks('tier.changed').filter((h) => h.data.tier === 'silver' && h.data.previous_tier === 'gold');
        return t.length === 2 ? t : null;
      },
      10_000,
      'tier drop',
    );
    assert.deepEqual(silver.map((h) => h.data.customer_id).sort(), [ann, ben].sort());
  });

  test(
    'redemptions: roles, household authorisation, overdraft ' + 'and bad input are refused with nothing written',
    async () => {
      const redeem = (key: string, payload: Record<string, unknown>) =>
        hearth.app.inject({ method: 'POST', url: '/v1/loyalty/redemptions', headers: as(key), payload });
      assert.equal((await redeem(readonly, { customer_id: ben, points: 10 })).statusCode, 403);
      assert.equal(
        (
          await hearth.app.inject({
            method: 'POST',
            url: '/v1/loyalty/redemptions',
            payload: { customer_id: ben, points: 10 },
          })
        ).statusCode,
        401,
      );
      assert.equal((await redeem(operator, { customer_id: ben, points: 0 })).statusCode, 400);
      assert.equal((await redeem(operator, { customer_id: ben })).statusCode, 400);
      assert.equal((await redeem(operator, { customer_id: 'cus_missing', points: 1 })).statusCode, 404);
      const over = await redeem(operator, { customer_id: ben, points: 251 });
      assert.equal(over.statusCode, 409);
      assert.equal(over.json().error.details.reason, 'insufficient_points');
      const outsider = await addCustomer(db(), 'outsider@example.com', Date.now());
      const denied = await redeem(operator, { customer_id: outsider, account_id: hh, points: 1 });
      assert.equal(denied.statusCode, 403);
      assert.equal(denied.json().error.details.reason, 'not_a_member');
      assert.equal(await poolBalance(db(), hh), 250);
      const ok = await redeem(operator, { customer_id: ben, points: 50, idempotency_key: 'pos-1' });
      assert.equal(ok.statusCode, 201);
      assert.equal(ok.json().entry.account_id, hh);
      assert.equal(ok.json().entry.customer_id, ben);
      assert.equal(ok.json().balance, 200);
      const replay = await redeem(operator, { customer_id: ben, points: 50, idempotency_key: 'pos-1' });
      assert.equal(replay.statusCode, 200);
      assert.equal(await poolBalance(db(), hh), 200);
    },
  );

  test(
    'adjustments need the operator role and a reason, and report the ' +
      'manual-adjustment rate; entries page; metrics expose the rate',
    async () => {
      const adjust = (key: string, payload: Record<string, unknown>) =>
        hearth.app.inject({ method: 'POST', url: '/v1/loyalty/adjustments', headers: as(key), payload });
      assert.equal((await adjust(readonly, { account_id: ann, points: 5, reason: 'x' })).statusCode, 403);
      assert.equal((await adjust(operator, { account_id: ann, points: 5 })).statusCode, 400);
      assert.equal((await adjust(operator, { account_id: 'hh_nope', points: 5, reason: 'x' })).statusCode, 404);
      const res = await adjust(operator, { account_id: ann, points: 15, reason: 'missing points for order #44' });
      assert.equal(res.statusCode, 201);
      const body = res.json();
      assert.equal(body.entry.actor.startsWith('api_key:'), true);
      assert.equal(body.balance, 15);
      const counts = await db().selectFrom('ledger_entries').select(['kind']).execute();
      assert.equal(body.manual_adjustment_rate.entries, counts.length);
      assert.equal(body.manual_adjustment_rate.rate, 1 / counts.length);
      assert.equal(body.manual_adjustment_rate.alert, 1 / counts.length > 0.02);
      const page1 = await hearth.app.inject({
        method: 'GET',
        url: `/v1/loyalty/accounts/${hh}/entries?limit=2`,
        headers: as(readonly),
      });
      assert.equal(page1.statusCode, 200);
      assert.equal(page1.json().data.length, 2);
      assert.equal(page1.json().balance, 200);
      const page2 = await hearth.app.inject({
        method: 'GET',
        url: `/v1/loyalty/accounts/${hh}/entries?limit=100&after=${page1.json().next_after}`,
        headers: as(readonly),
      });
      const kinds = [...page1.json().data, ...page2.json().data].map((e: { kind: string }) => e.kind);
      assert.deepEqual(kinds, ['earn', 'earn', 'reverse', 'reverse', 'redeem']);
      assert.equal(
        (
          await hearth.app.inject({
            method: 'GET',
            url: '/v1/loyalty/accounts/cus_nobody/entries',
            headers: as(readonly),
          })
        ).statusCode,
        404,
      );
      const metrics = await hearth.app.inject({ method: 'GET', url: '/metrics' });
      assert.match(
        metrics.body,
        new RegExp(`hearth_loyalty_manual_adjustment_ratio ${(1 / counts.length).toString().slice(0, 6)}`),
      );
      assert.match(metrics.body, /hearth_loyalty_manual_adjustment_alert_threshold 0.02/);
      assert.equal(await balanceOf(db(), ann), 15);
      // A client retry with its idempotency key adjusts once; the same key for another amount is a 409.
      const first = await adjust(operator, {
        account_id: ann,
        points: 3,
        reason: 'goodwill',
        idempotency_key: 'tkt-9',
      });
      const retry = await adjust(operator, {
        account_id: ann,
        points: 3,
        reason: 'goodwill',
        idempotency_key: 'tkt-9',
      });
      assert.deepEqual(
        [first.statusCode, retry.statusCode, retry.json().replayed, retry.json().entry.id],
        [201, 200, true, first.json().entry.id],
      );
      assert.equal(
        (await adjust(operator, { account_id: ann, points: 4, reason: 'goodwill', idempotency_key: 'tkt-9' }))
          .statusCode,
        409,
      );
      assert.equal(retry.json().balance, 18);
    },
  );

  test('checkout enrichment answers synchronously by email or id; 404 unknown, 400 without either', async () => {
    const byEmail = await hearth.app.inject({
      method: 'POST',
      url: '/v1/checkout/enrich',
      headers: as(readonly),
      payload: { email: 'ANN@example.com', order: { total: 12.5 } },
    });
    assert.equal(byEmail.statusCode, 200);
    assert.deepEqual(byEmail.json(), {
      customer_id: ann,
      household_id: hh,
      hierarchy_role: 'head',
      points_aggregation_opt_in: true,
      tier: 'silver',
      account_id: hh,
      balance: 200,
      order: { total: 12.5 },
    });
    assert.equal(
      (
        await hearth.app.inject({
          method: 'POST',
          url: '/v1/checkout/enrich',
          headers: as(readonly),
          payload: { customer_id: ben },
        })
      ).json().hierarchy_role,
      'member',
    );
    assert.equal(
      (
        await hearth.app.inject({
          method: 'POST',
          url: '/v1/checkout/enrich',
          headers: as(readonly),
          payload: { email: 'nobody@example.com' },
        })
      ).statusCode,
      404,
    );
    assert.equal(
      (await hearth.app.inject({ method: 'POST', url: '/v1/checkout/enrich', headers: as(readonly), payload: {} }))
        .statusCode,
      400,
    );
  });

  test(
    'over HTTP too: 50 parallel redemptions against a ' + 'pool that covers 10 give ten 201s and forty 409s',
    async () => {
      const now = Date.now();
      const pool = await addHousehold(db(), 'http-race', now);
      const members = [
        await addCustomer(db(), 'race-a@example.com', now),
        await addCustomer(db(), 'race-b@example.com', now),
      ];
      for (const m of members)
        await join(db(), m, { household_id: pool, role: 'member', opt_in: true }, now - 1000, settings);
      assert.equal(
        (
          await hearth.app.inject({
            method: 'POST',
            url: '/v1/loyalty/adjustments',
            headers: as(operator),
            payload: { account_id: pool, points: 1000, reason: 'opening balance' },
          })
        ).statusCode,
        201,
      );
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          hearth.app.inject({
            method: 'POST',
            url: '/v1/loyalty/redemptions',
            headers: as(operator),
            payload: { customer_id: members[i % 2], points: 100 },
          }),
        ),
      );
      const codes = results.map((r) => r.statusCode);
      assert.equal(codes.filter((c) => c === 201).length, 10);
      assert.equal(codes.filter((c) => c === 409).length, 40);
      assert.equal(await poolBalance(db(), pool), 0);
    },
  );

  test('the admin key works too (bootstrap); the routes are in the OpenAPI document', async () => {
    assert.equal(
      (await hearth.app.inject({ method: 'GET', url: '/v1/loyalty/adjustment-rate', headers: as(ADMIN_KEY) }))
        .statusCode,
      200,
    );
    const spec = (await hearth.app.inject({ method: 'GET', url: '/docs/json' })).json() as {
      paths: Record<string, unknown>;
    };
    for (const path of [
      '/v1/loyalty/redemptions',
      '/v1/loyalty/adjustments',
      '/v1/loyalty/accounts/{id}/entries',
      '/v1/checkout/enrich',
    ])
      assert.ok(spec.paths[path], path);
  });
});
