import assert from 'node:assert/strict';
import { test } from 'node:test';
import { previousAttributes, startStripeSim, stripeSignature } from '../../../sim/stripe.ts';
import { PROFILE_PROJECT, type OutboundJob, type ProfileProjectPayload } from '../../canonical/types.ts';
import { HearthError } from '../../errors.ts';
import { createStripeConnector, customerUpdate } from './index.ts';
import { parseStripeEvent } from './mapping.ts';
import { verifyStripeSignature } from './signature.ts';

const SECRET = 'whsec_unit_secret';
const body = (o: unknown) => Buffer.from(JSON.stringify(o));
const now = Date.UTC(2026, 11, 1, 12, 0, 0);
const t = now / 1000;

test('Stripe-Signature: any v1 of several passes; wrong secret, v0 only, stale or missing timestamp fail', () => {
  const raw = body({ id: 'evt_1' });
  const header = stripeSignature(raw.toString(), ['whsec_old', SECRET], t);
  assert.equal(header.split(',').filter((p) => p.startsWith('v1=')).length, 2);
  assert.deepEqual(verifyStripeSignature(raw, header, [SECRET], now), { ok: true });
  assert.equal(verifyStripeSignature(raw, stripeSignature(raw.toString(), ['whsec_x'], t), [SECRET], now).ok, false);
  assert.equal(verifyStripeSignature(raw, `t=${t},v0=abc`, [SECRET], now).ok, false);
  assert.equal(verifyStripeSignature(raw, header, [SECRET], now + 301_000).ok, false, 'outside the 300 s tolerance');
  assert.equal(verifyStripeSignature(raw, header.replace(/^t=\d+,/, ''), [SECRET], now).ok, false);
  assert.equal(verifyStripeSignature(Buffer.from('{"id":"evt_2"}'), header, [SECRET], now).ok, false, 'body changed');
});

test('customer.updated maps to a versioned contact change and a billing address; our own key marks the echo', () => {
  const customer = {
    id: 'cus_1',
    email: 'jane@example.com',
    name: 'Jane van Doe',
    phone: '+13125551212',
    address: { line1: '1 Main St', line2: null, city: 'Springfield', state: 'IL', postal_code: '62701', country: 'US' },
  };
  const ev = {
    id: 'evt_9',
    type: 'customer.updated',
    created: 1714650000,
    data: { object: customer },
    request: { id: 'req_1', idempotency_key: 'hearth:job_1' },
  };
  const [contact, billing] = parseStripeEvent(body(ev), 'stripe');
  assert.equal(contact!.delivery_id, 'evt_9');
  assert.deepEqual(contact!.event, {
    type: 'contact.updated',
    source: 'stripe',
    external_id: 'cus_1',
    contact: { given_name: 'Jane', family_name: 'van Doe', email: 'jane@example.com', phone: '+13125551212' },
    vendor_fields: { name: 'Jane van Doe', phone: '+13125551212' },
    origin_is_hearth: true,
    occurred_at: 1714650000000,
    version: 1714650000,
  });
  assert.equal(billing!.delivery_id, 'evt_9:billing_address');
  const tagged = { ...ev, data: { object: { ...customer, metadata: { hearth_id: 'cus_01hearth' } } } };
  const [linked] = parseStripeEvent(body(tagged), 'stripe');
  assert.equal(linked!.event.type === 'contact.updated' && linked!.event.hearth_id, 'cus_01hearth');
  assert.equal(billing!.event.type === 'billing.address_changed' && billing!.event.billing_address?.region, 'IL');
});

test('customer.updated with previous_attributes: only the attributes Stripe says changed are a change', () => {
  const customer = {
    id: 'cus_2',
    email: 'kim@example.com',
    name: 'Kim Lee',
    phone: '+13125550123',
    address: { line1: '1 Main St', city: 'Springfield', state: 'IL', postal_code: '62701', country: 'US' },
    metadata: {},
  };
  const ev = (previous: Record<string, unknown>) =>
    parseStripeEvent(
      body({
        id: 'evt_p',
        type: 'customer.updated',
        created: 1714650100,
        data: { object: customer, previous_attributes: previous },
      }),
      'stripe',
    );
  const [phone, ...rest] = ev({ phone: '+13125550000' });
  assert.deepEqual(rest, [], 'the address did not change: no billing address event');
  assert.deepEqual(phone!.event.type === 'contact.updated' && phone!.event, {
    type: 'contact.updated',
    source: 'stripe',
    external_id: 'cus_2',
    // The e-mail rides along to link the record, named as unchanged; the name is not carried.
    contact: { phone: '+13125550123', email: 'kim@example.com' },
    vendor_fields: { phone: '+13125550123' },
    origin_is_hearth: false,
    occurred_at: 1714650100000,
    version: 1714650100,
    unchanged: ['email'],
  });
  const [named] = ev({ name: 'Kim Li', email: 'kim.old@example.com' });
  assert.deepEqual(named!.event.type === 'contact.updated' && named!.event.contact, {
    given_name: 'Kim',
    family_name: 'Lee',
    email: 'kim@example.com',
  });
  assert.equal(named!.event.type === 'contact.updated' && named!.event.unchanged, undefined);
  const [moved, ...none] = ev({ address: { line1: '9 Old Rd' } });
  assert.equal(moved!.delivery_id, 'evt_p:billing_address', 'only the billing address changed');
  assert.deepEqual(none, []);
  const cleared = parseStripeEvent(
    body({
      id: 'evt_c',
      type: 'customer.updated',
      created: 1714650200,
      data: {
        object: { ...customer, phone: null, name: '' },
        previous_attributes: { phone: '+13125550123', name: 'Kim Lee' },
      },
    }),
    'stripe',
  )[0]!.event;
  assert.ok(cleared.type === 'contact.updated');
  assert.deepEqual(cleared.contact, { given_name: null, family_name: null, phone: null, email: 'kim@example.com' });
  assert.deepEqual(cleared.cleared, ['given_name', 'family_name', 'phone'], 'emptied attributes are clears');
  assert.equal(phone!.event.type === 'contact.updated' && phone!.event.cleared, undefined);
  const [balance] = ev({ balance: 0 });
  assert.equal(balance!.event.type, 'unsupported', 'nothing Hearth reads changed');
  // Without previous_attributes (a sender that omits it) the whole object is the change, as before.
  const whole = parseStripeEvent(
    body({ id: 'evt_w', type: 'customer.updated', created: 1, data: { object: customer } }),
    'stripe',
  );
  assert.equal(whole.length, 2);
  assert.equal(whole[0]!.event.type === 'contact.updated' && whole[0]!.event.contact.given_name, 'Kim');
});

test('the simulator sends previous_attributes as Stripe does: old values of what changed (nested: keys)', async () => {
  assert.deepEqual(
    previousAttributes(
      { name: 'A', phone: '+1', address: { line1: '1 Main', city: 'X' }, metadata: { a: '1' } },
      { name: 'A', phone: null, address: { line1: '2 Main', city: 'X' }, metadata: { a: '1', b: '2' } },
    ),
    { phone: '+1', address: { line1: '1 Main' }, metadata: { b: null } },
  );
  const sim = await startStripeSim();
  try {
    const c = sim.createCustomer({ email: 'sim@example.com', name: 'Sam Sim', phone: '+13125550001' });
    const first = sim.event('customer.updated', { ...c, phone: null });
    assert.deepEqual(first.data.previous_attributes, { phone: '+13125550001' });
    const second = sim.event('customer.updated', { ...c, phone: null, name: 'Sam Simm' });
    assert.deepEqual(second.data.previous_attributes, { name: 'Sam Sim' }, 'diffed against the state it now holds');
    assert.equal(sim.event('customer.created', c).data.previous_attributes, undefined);
    assert.equal(sim.event('customer.updated', c, { previous: null }).data.previous_attributes, undefined);
  } finally {
    await sim.close();
  }
});

test('invoices set the billing status: failed with a retry is past due, without one delinquent; paid is active', () => {
  const invoice = (type: string, next: number | null) =>
    parseStripeEvent(
      body({
        id: `evt_${type}`,
        type,
        created: 1,
        data: { object: { id: 'in_1', customer: 'cus_1', next_payment_attempt: next } },
      }),
      'stripe',
    )[0]!.event;
  const status = (e: ReturnType<typeof invoice>) => (e.type === 'billing.status_changed' ? e.status : null);
  assert.equal(status(invoice('invoice.payment_failed', 123)), 'past_due');
  assert.equal(status(invoice('invoice.payment_failed', null)), 'delinquent');
  assert.equal(status(invoice('invoice.paid', null)), 'active');
});

test('a body without id, type or created is a bad request naming the field; unknown types are unsupported', () => {
  assert.throws(
    () => parseStripeEvent(body({ type: 'x', created: 1, data: { object: {} } }), 'stripe'),
    (e: unknown) => {
      return e instanceof HearthError && /id is required/.test(e.message);
    },
  );
  assert.throws(() => parseStripeEvent(Buffer.from('nope'), 'stripe'), /not JSON/);
  const [u] = parseStripeEvent(body({ id: 'e', type: 'charge.succeeded', created: 1, data: { object: {} } }), 'stripe');
  assert.deepEqual(u!.event, { type: 'unsupported', source: 'stripe', vendor_type: 'charge.succeeded' });
});

test('the write to a Stripe customer: name, phone, shipping, metadata.hearth_id and household_id ("" deletes)', () => {
  const p = {
    customer_id: 'cus_H1',
    external_id: 'cus_1',
    given_name: 'Ana',
    family_name: 'Diaz',
    email: 'ana@example.com',
    phone: '+13125550000',
    address: { line1: '1 Main St', line2: null, city: 'Chicago', region: 'IL', postal_code: '60614', country: 'US' },
    household_id: null,
    hierarchy_role: null,
    loyalty_tier: null,
    points_balance: 0,
    billing_status: null,
    billing_status_since: null,
    billing_address: null,
    subscriptions: [],
  };
  const u = customerUpdate(p);
  assert.equal(u.name, 'Ana Diaz');
  assert.equal((u.shipping as { address: { line1: string } }).address.line1, '1 Main St');
  assert.deepEqual(u.metadata, { hearth_id: 'cus_H1', household_id: '' });
});

test('a batch finds its unlinked Stripe customers with one search per ten e-mails; a miss is listed', async () => {
  const sim = await startStripeSim();
  try {
    const emails = Array.from({ length: 12 }, (_, i) => `batch${i}@example.com`);
    const ids = emails.slice(0, 11).map((email) => sim.createCustomer({ email, name: 'Bo Batch' }).id);
    const stripe = createStripeConnector({
      api_key: sim.apiKey,
      webhook_secret: 'whsec_x',
      base_url: sim.url,
      tolerance_seconds: 300,
    });
    const job = (email: string, i: number): OutboundJob<ProfileProjectPayload> => ({
      id: `job_${i}`,
      kind: PROFILE_PROJECT,
      attempts: 0,
      payload: {
        customer_id: `cus_H${i}`,
        external_id: null,
        given_name: 'Bo',
        family_name: 'Batch',
        email,
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
      },
    });
    const results = await stripe.outbound!.deliver(emails.map(job));
    assert.equal(sim.searches, 2, 'twelve e-mails: two searches');
    assert.deepEqual(
      results.map((r) => (r.ok ? (r.external_id ?? null) : 'failed')),
      [...ids, null],
      'each found customer updated; the twelfth has none (Hearth never creates one)',
    );
    assert.equal(sim.customers.get(ids[3]!)!.metadata.hearth_id, 'cus_H3');
  } finally {
    await sim.close();
  }
});
