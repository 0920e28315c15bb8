import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { buildOrder, signShopifyDelivery } from '../../sim/shopify.ts';
import { startReceiver, type Receiver } from '../../sim/receiver.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { ADMIN_KEY, eventually, SHOPIFY_SECRET, startTestHearth } from '../../test-support/harness.ts';
import type { Hearth } from '../runtime.ts';

// Issue 10, finding 8: emoji-only streets, `??` states and HTML were written to the CRM verbatim.
describeEachDialect('implausible checkout addresses are quarantined for review, not written', (ctx) => {
  let hearth: Hearth;
  let receiver: Receiver;
  const db = () => ctx.hdb().db;
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };
  const subscribers = () => ({
    webhook: {
      targets: [{ name: 'crm', url: receiver.url, secret: 'whsec_quarantine', events: ['address.corrected'] }],
    },
  });
  const checkout = async (n: number, address: Record<string, string>) => {
    const order = buildOrder({
      order_id: 8000 + n,
      customer_id: 9000 + n,
      email: `q${n}@example.com`,
      first_name: 'Quinn',
      last_name: `Q${n}`,
      address1: '12 Oak Avenue',
      city: 'Springfield',
      province_code: 'IL',
      zip: '62701',
    });
    Object.assign(order.shipping_address as object, address);
    const d = signShopifyDelivery('orders/create', order, SHOPIFY_SECRET, `q-${n}`);
    const res = await hearth.app.inject({
      method: 'POST',
      url: '/webhooks/shopify',
      headers: d.headers,
      payload: d.body,
    });
    assert.equal(res.statusCode, 200);
    return eventually(async () => {
      const e = await db()
        .selectFrom('inbox_events')
        .selectAll()
        .where('delivery_id', '=', `q-${n}`)
        .executeTakeFirst();
      return e && e.status !== 'pending' ? e : undefined;
    });
  };
  const customerOf = (n: number) =>
    db().selectFrom('customers').selectAll().where('email', '=', `q${n}@example.com`).executeTakeFirstOrThrow();
  const jobsOf = async (id: string) => db().selectFrom('jobs').select('id').where('customer_id', '=', id).execute();

  before(async () => {
    receiver = await startReceiver();
    ({ hearth } = await startTestHearth(ctx, { connectors: subscribers() }));
  });
  after(async () => {
    await hearth?.close();
    await receiver.close();
  });

  test('emoji, markup, no letters and a "??" state: held in the review queue with the reason', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ address1: '🏠🏠🏠' }, 'street_letters'],
      [{ address1: '12 Oak Ave <img src=x onerror=alert(1)>' }, 'markup'],
      [{ province_code: '??' }, 'region_format'],
    ];
    for (const [i, [address, rule]] of cases.entries()) {
      const event = await checkout(i, address);
      assert.equal(event.status, 'applied', event.error ?? '');
      const customer = await customerOf(i);
      assert.equal(customer.address_line1, null, 'no address of record from an implausible checkout');
      assert.deepEqual(await jobsOf(customer.id), [], 'nothing queued for the CRM or subscribers');
      const list = await hearth.app.inject({
        method: 'GET',
        url: '/v1/review?kind=address_quarantine',
        headers: auth,
      });
      const item = list.json().data.find((r: { event_id: string }) => r.event_id === event.id);
      assert.ok(item, list.body);
      assert.equal(item.explanation.rule, rule);
      assert.ok(item.explanation.reason.length > 0);
      assert.equal(item.customers[0].id, customer.id);
    }
  });

  test('a plausible address is written; a rule turned off in config lets its addresses through', async () => {
    const ok = await checkout(10, {});
    assert.equal(ok.status, 'applied');
    assert.ok((await jobsOf((await customerOf(10)).id)).length > 0);
    await hearth.close();
    ({ hearth } = await startTestHearth(ctx, {
      connectors: subscribers(),
      addresses: { plausibility: { region_format: false } },
    }));
    await checkout(11, { province_code: '??' });
    const customer = await customerOf(11);
    assert.equal(customer.region, '??');
    assert.ok((await jobsOf(customer.id)).length > 0);
  });
});
