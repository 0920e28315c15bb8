import { createHmac } from 'node:crypto';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { buildOrder, signShopifyDelivery } from '../../sim/shopify.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { eventually, SHOPIFY_SECRET, startTestHearth } from '../../test-support/harness.ts';
import { hubspotHeaders, relayHeaders, SIGNED_CONNECTORS } from '../../test-support/signers.ts';
import type { Hearth } from '../runtime.ts';

// Issue 10, findings 4 and 5: signed input that made a 500, or was acknowledged and then failed.
describeEachDialect('webhook ingress validates before acknowledging', (ctx) => {
  let hearth: Hearth;
  const db = () => ctx.hdb().db;
  const inboxSize = async () => (await db().selectFrom('inbox_events').select('id').execute()).length;
  const shopify = (topic: string, body: string, id: string) => {
    const { headers } = signShopifyDelivery(topic, {}, SHOPIFY_SECRET, id);
    headers['x-shopify-hmac-sha256'] = createHmac('sha256', SHOPIFY_SECRET).update(body).digest('base64');
    return hearth.app.inject({ method: 'POST', url: '/webhooks/shopify', headers, payload: body });
  };
  const hubspot = (body: string) =>
    hearth.app.inject({ method: 'POST', url: '/webhooks/hubspot', headers: hubspotHeaders(body), payload: body });
  const order = (extra: Record<string, unknown>) =>
    JSON.stringify({
      ...buildOrder({
        order_id: 501,
        customer_id: 51,
        email: 'nul@example.com',
        first_name: 'Ann',
        last_name: 'Lee',
        address1: '12 Oak Avenue',
        city: 'Springfield',
        province_code: 'IL',
        zip: '62701',
        total_price: '10.00',
      }),
      ...extra,
    });
  const rejected = async (res: { statusCode: number; body: string }, field: string) => {
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(JSON.parse(res.body).error.details.field, field, res.body);
  };

  before(async () => {
    ({ hearth } = await startTestHearth(ctx, { connectors: SIGNED_CONNECTORS }));
  });
  after(() => hearth.close());

  test('wrong shapes are a 400 naming the field, and nothing is stored', async () => {
    const before = await inboxSize();
    await rejected(await shopify('refunds/create', '{"id":1,"order_id":2,"transactions":"x"}', 'r1'), 'transactions');
    await rejected(
      await shopify('refunds/create', '{"id":1,"order_id":2,"transactions":[null]}', 'r2'),
      'transactions[0]',
    );
    await rejected(await shopify('orders/create', order({ email: ['a'] }), 'o1'), 'email');
    await rejected(await hubspot('[null]'), '[0]');
    await rejected(
      await hubspot('[{"eventId":1,"occurredAt":1714650000000,"propertyValue":{"a":1}}]'),
      '[0].propertyValue',
    );
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    await rejected(await shopify('orders/create', order({ email: '§' }).replace('"§"', deep), 'o2'), 'body');
    await rejected(await hubspot(`[{"eventId":1,"propertyValue":${deep}}]`), 'body');
    const relay = '{"replayId":1,"ChangeEventHeader":{"recordIds":"003x","changeType":"UPDATE"}}';
    const res = await hearth.app.inject({
      method: 'POST',
      url: '/webhooks/salesforce',
      headers: relayHeaders(relay),
      payload: relay,
    });
    await rejected(res, 'events[0].ChangeEventHeader.recordIds');
    assert.equal(await inboxSize(), before);
  });

  test('amounts are exact minor units within bounds: 1e17 and 1e20 totals are refused', async () => {
    const before = await inboxSize();
    await rejected(
      await shopify('orders/create', order({ total_price: '100000000000000000.00' }), 'o3'),
      'total_price',
    );
    await rejected(await shopify('orders/create', order({ total_price: 1e20 }), 'o4'), 'total_price');
    await rejected(await shopify('orders/create', order({ total_price: '1.005' }), 'o5'), 'total_price');
    assert.equal(await inboxSize(), before);
    assert.equal((await shopify('orders/create', order({ id: 502, total_price: '19.99' }), 'o6')).statusCode, 200);
    const row = await eventually(() =>
      db().selectFrom('inbox_events').selectAll().where('delivery_id', '=', 'o6:order').executeTakeFirst(),
    );
    assert.equal(JSON.parse(row.payload).total_minor, 1999);
  });

  test('a NUL byte in a name is stripped at ingress, so the event applies on both dialects', async () => {
    const body = order({ id: 503, name: '#503' }).replaceAll('"Ann"', '"An\\u0000n"');
    assert.equal((await shopify('orders/create', body, 'o7')).statusCode, 200);
    const settled = await eventually(async () => {
      const r = await db().selectFrom('inbox_events').selectAll().where('delivery_id', '=', 'o7').executeTakeFirst();
      return r && r.status !== 'pending' ? r : undefined;
    });
    assert.equal(settled.status, 'applied', settled.error ?? '');
    const c = await db().selectFrom('customers').selectAll().where('email', '=', 'nul@example.com').executeTakeFirst();
    assert.equal(c?.given_name, 'Ann');
  });

  test('dates out of range are refused', async () => {
    await rejected(
      await shopify('orders/create', order({ id: 504, created_at: '9999-01-01T00:00:00Z' }), 'o8'),
      'events[0].occurred_at',
    );
  });
});
