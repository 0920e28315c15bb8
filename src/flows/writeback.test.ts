import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { buildOrder, signShopifyDelivery } from '../../sim/shopify.ts';
import { startReceiver, type Receiver } from '../../sim/receiver.ts';
import { hmacSha256 } from '../connectors/hmac.ts';
import type { Hearth } from '../runtime.ts';
import { isQuiet } from '../engine/quiet.ts';
import { ADMIN_KEY, eventually, SHOPIFY_SECRET, startTestHearth } from '../../test-support/harness.ts';

const order = (n: number, address1: string, address2: string | null = null) =>
  buildOrder({
    order_id: 5000 + n,
    customer_id: 7000 + n,
    email: `person${n}@example.com`,
    first_name: 'Pat',
    last_name: `Lee${n}`,
    address1,
    address2,
    city: 'Springfield',
    province_code: 'IL',
    zip: '62701',
  });

describeEachDialect('address correction to downstream webhooks', (ctx) => {
  let hearth: Hearth;
  let receiver: Receiver;
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };
  const post = (payload: unknown, eventId: string, secret = SHOPIFY_SECRET, topic = 'orders/create') => {
    const d = signShopifyDelivery(topic, payload, secret, eventId);
    return hearth.app.inject({ method: 'POST', url: '/webhooks/shopify', headers: d.headers, payload: d.body });
  };
  const settled = () => eventually(() => isQuiet(ctx.hdb().db), 15_000, 'inbox and outbox settled');
  const count = async (table: 'inbox_events' | 'jobs') =>
    Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(ctx.hdb().db)).rows[0]!.n);

  before(async () => {
    receiver = await startReceiver();
    ({ hearth } = await startTestHearth(ctx, {
      connectors: {
        webhook: {
          targets: [{ name: 'loyalty', url: receiver.url, secret: 'whsec_loyalty1', events: ['address.corrected'] }],
        },
      },
    }));
  });
  after(async () => {
    await hearth.close();
    await receiver.close();
  });

  test('a checkout address becomes the address of record and reaches the subscriber, signed', async () => {
    const res = await post(order(1, '12 Oak Avenue', 'Apt 4B'), 'e-1');
    assert.equal(res.statusCode, 200);
    // orders/create is two events: the confirmed address and the order (for the points ledger).
    assert.deepEqual(res.json(), { accepted: 2, duplicates: 0 });
    const got = await eventually(
      async () => receiver.received.find((r) => (r.body as { type: string }).type === 'address.corrected'),
      10_000,
      'webhook',
    );
    const body = got.body as {
      id: string;
      data: { customer: { id: string; email: string; address: { line1: string; line2: string; source: string } } };
    };
    assert.equal(body.data.customer.email, 'person1@example.com');
    assert.equal(body.data.customer.address.line1, '12 Oak Avenue');
    assert.equal(body.data.customer.address.source, 'shopify');
    const [t, v1] = String(got.headers['x-hearth-signature']).split(',');
    assert.equal(v1, `v1=${hmacSha256('whsec_loyalty1', `${t!.slice(2)}.${JSON.stringify(got.body)}`, 'hex')}`);

    const customer = await hearth.app.inject({
      method: 'GET',
      url: `/v1/customers/${body.data.customer.id}`,
      headers: auth,
    });
    assert.equal(customer.statusCode, 200);
    const c = customer.json();
    assert.deepEqual(
      c.source_records.map((l: { system: string; external_id: string }) => [l.system, l.external_id]),
      [['shopify', '7001']],
    );
    assert.ok(
      c.changes.some(
        (ch: { field: string; new_value: string; source_system: string; event_id: string }) =>
          ch.field === 'address_line1' &&
          ch.new_value === '12 Oak Avenue' &&
          ch.source_system === 'shopify' &&
          ch.event_id.startsWith('evt_'),
      ),
    );
  });

  test('a redelivered event is acknowledged and not applied twice', async () => {
    assert.deepEqual((await post(order(11, '40 Cedar Lane'), 'e-11')).json(), { accepted: 2, duplicates: 0 });
    await settled();
    const before = receiver.received.length;
    const jobsBefore = await count('jobs');
    const res = await post(order(11, '40 Cedar Lane'), 'e-11');
    assert.deepEqual(res.json(), { accepted: 0, duplicates: 2 });
    // Nothing is pending in the inbox or the outbox: whatever the redelivery caused has happened.
    await settled();
    assert.equal(await count('jobs'), jobsBefore);
    assert.equal(receiver.received.length, before);
  });

  test('the same delivery point spelled differently is not a correction', async () => {
    assert.equal((await post(order(12, '12 Oak Avenue', 'Apt 4B'), 'e-12a')).statusCode, 200);
    await settled();
    const jobsBefore = await count('jobs');
    const before = receiver.received.length;
    const res = await post(order(12, '12 Oak Ave', 'Apartment 4-B'), 'e-12b');
    assert.equal(res.statusCode, 200);
    await settled();
    assert.equal(
      (
        await ctx
          .hdb()
          .db.selectFrom('inbox_events')
          .select('status')
          .where('delivery_id', '=', 'e-12b')
          .executeTakeFirst()
      )?.status,
      'applied',
    );
    assert.equal(await count('jobs'), jobsBefore);
    assert.equal(receiver.received.length, before);
  });

  test('a moved customer is corrected again; a failing subscriber is retried until it accepts', async () => {
    await post(order(13, '7 Birch Court'), 'e-13a');
    await settled();
    receiver.failNext(2, 503);
    await post(order(13, '99 Elm St', null), 'e-13b');
    await eventually(
      async () => receiver.received.some((r) => JSON.stringify(r.body).includes('99 Elm St')),
      10_000,
      'redelivery',
    );
    // The receiver has the event before Hearth records the job as done: wait for that too.
    await settled();
    const jobs = await ctx
      .hdb()
      .db.selectFrom('jobs')
      .select(['status', 'attempts', 'payload'])
      .where('target', '=', 'webhook:loyalty')
      .execute();
    const moved = jobs.filter((j) => j.payload.includes('99 Elm St'));
    assert.deepEqual(
      moved.map((j) => [j.status, j.attempts]),
      [['done', 3]],
    );
  });

  test('bad signature 401, bad JSON 400, missing field 400, no connector 404, too large 413: none stored', async () => {
    const stored = await count('inbox_events');
    assert.equal((await post(order(2, '1 A St'), 'x-1', 'wrong-secret')).statusCode, 401);
    const d = signShopifyDelivery('orders/create', {}, SHOPIFY_SECRET, 'x-2');
    const badJson = await hearth.app.inject({
      method: 'POST',
      url: '/webhooks/shopify',
      headers: { ...d.headers, 'x-shopify-hmac-sha256': hmacSha256(SHOPIFY_SECRET, '{oops', 'base64') },
      payload: '{oops',
    });
    assert.equal(badJson.statusCode, 400);
    assert.equal(badJson.json().error.details.field, 'body');
    const noLine1 = order(3, '');
    const missing = await post(noLine1, 'x-3');
    assert.equal(missing.statusCode, 400);
    assert.match(missing.json().error.message, /shipping_address\.address1 is required/);
    const unknown = await hearth.app.inject({
      method: 'POST',
      url: '/webhooks/nope',
      payload: '{}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(unknown.statusCode, 404);
    const huge = { ...order(4, '1 B St'), note: 'x'.repeat(70 * 1024) };
    assert.equal((await post(huge, 'x-4')).statusCode, 413);
    assert.equal(await count('inbox_events'), stored);
  });

  test('a subscriber that rejects the payload dead-letters it; an operator re-drives it', async () => {
    receiver.failNext(1, 400);
    await post(order(5, '5 Pine Rd'), 'e-5');
    const dead = await eventually(
      async () => {
        const r = await hearth.app.inject({ method: 'GET', url: '/v1/jobs?status=dead', headers: auth });
        return r.json().data[0] as { id: string; last_error: string; last_error_kind: string } | undefined;
      },
      10_000,
      'dead letter',
    );
    assert.equal(dead.last_error_kind, 'invalid');
    assert.match(dead.last_error, /HTTP 400/);
    const retried = await hearth.app.inject({ method: 'POST', url: `/v1/jobs/${dead.id}/retry`, headers: auth });
    assert.equal(retried.statusCode, 200);
    await eventually(
      async () =>
        (await hearth.app.inject({ method: 'GET', url: `/v1/jobs/${dead.id}`, headers: auth })).json().status ===
        'done',
      10_000,
      'redrive',
    );
    const again = await hearth.app.inject({ method: 'POST', url: `/v1/jobs/${dead.id}/retry`, headers: auth });
    assert.equal(again.statusCode, 409);
  });
});
