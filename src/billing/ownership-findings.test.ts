import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { buildOrder, sendShopifyWebhook } from '../../sim/shopify.ts';
import { sendStripeEvent, sendStripeEventsDisorderly, startStripeSim, type StripeSim } from '../../sim/stripe.ts';
import { sendZendeskWebhook, startZendeskSim, type ZendeskSim } from '../../sim/zendesk.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { ADMIN_KEY, eventually, SHOPIFY_SECRET, startTestHearth } from '../../test-support/harness.ts';
import { isQuiet } from '../engine/quiet.ts';
import type { Hearth } from '../runtime.ts';
import { billingOf, unlinkedAccounts } from './billing-store.ts';
import { INGRESS_RUN_ID } from './ownership-findings.ts';

const STRIPE_SECRET = 'whsec_ownership_secret';
const ZENDESK_SECRET = 'zendesk-ownership-secret';

/** The example: ownership across N systems, billing fields included, set in config. */
const OWNERSHIP = {
  billing_address: ['stripe'],
  billing_status: ['stripe'],
  address: ['shopify', 'api', 'hubspot', 'salesforce', 'zendesk'],
  phone: ['hubspot', 'zendesk', 'stripe', 'shopify'],
};

interface Finding {
  run_id: string;
  system: string;
  field: string;
  status: string;
  canonical_value: string | null;
  system_value: string | null;
  customer_id: string;
}

describeEachDialect('ownership across systems: refused changes are findings (Stripe, Zendesk)', (ctx) => {
  let hearth: Hearth;
  let stripe: StripeSim;
  let zendesk: ZendeskSim;
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };
  const db = () => ctx.hdb().db;
  const settled = () => eventually(() => isQuiet(db()), 20_000, 'settled');
  const stripeUrl = () => `${hearth.url}/webhooks/stripe`;
  const zendeskUrl = () => `${hearth.url}/webhooks/zendesk`;
  const get = async (url: string) => (await hearth.app.inject({ method: 'GET', url, headers: auth })).json();
  const customerByEmail = async (email: string) => (await get(`/v1/customers?email=${email}`)).data[0];
  const findings = async (customerId: string) =>
    (await get(`/v1/reconcile/findings?customer_id=${customerId}&limit=100`)).data as Finding[];
  const systems = async (id: string) =>
    (await get(`/v1/customers/${id}/systems`)) as { out_of_date: string[]; data: { system: string; state: string }[] };
  const stateOf = async (id: string, system: string) =>
    (await systems(id)).data.find((s) => s.system === system)?.state;

  before(async () => {
    stripe = await startStripeSim();
    zendesk = await startZendeskSim();
    ({ hearth } = await startTestHearth(ctx, {
      connectors: {
        stripe: { api_key: stripe.apiKey, webhook_secret: STRIPE_SECRET, base_url: stripe.url },
        zendesk: {
          email: zendesk.email,
          api_token: zendesk.token,
          base_url: zendesk.url,
          webhook_secret: ZENDESK_SECRET,
          job_poll_ms: 20,
        },
      },
      ownership: OWNERSHIP,
    }));
  });
  after(async () => {
    await hearth.close();
    await Promise.all([stripe.close(), zendesk.close()]);
  });

  test('a Zendesk agent setting the billing status is a finding; the status stays Stripe’s', async () => {
    const cus = stripe.createCustomer({ email: 'bill@example.com', name: 'Bea Bill' });
    await sendStripeEvent(stripeUrl(), stripe.event('customer.created', cus), [STRIPE_SECRET]);
    const invoice = { id: 'in_o1', object: 'invoice', customer: cus.id, customer_email: cus.email };
    const failed = stripe.event('invoice.payment_failed', { ...invoice, next_payment_attempt: 1 });
    await sendStripeEvent(stripeUrl(), failed, [STRIPE_SECRET]);
    await settled();
    const customer = await customerByEmail('bill@example.com');
    const user = await eventually(
      async () => {
        const u = zendesk.byExternalId(customer.id);
        return u?.user_fields.billing_status === 'past_due' ? u : null;
      },
      20_000,
      'the Zendesk user shows past_due',
    );
    const [edit, ...others] = zendesk.agentEdit(user.id, { user_fields: { billing_status: 'active' } });
    assert.deepEqual(others, [], 'one event per changed attribute');
    assert.equal(edit!.type, 'zen:event-type:user.custom_field_changed');
    assert.deepEqual(edit!.event, {
      current: 'active',
      previous: 'past_due',
      field: { id: 0, title: 'billing_status', type: 'text', key: 'billing_status' },
    });
    assert.equal((await sendZendeskWebhook(zendeskUrl(), ZENDESK_SECRET, edit)).status, 200);
    await settled();
    assert.equal((await billingOf(db(), customer.id)).status, 'past_due', 'not applied');
    const [f, ...more] = (await findings(customer.id)).filter((x) => x.field === 'billing_status');
    assert.deepEqual(more, []);
    assert.equal(f!.system, 'zendesk');
    assert.equal(f!.status, 'open');
    assert.equal(f!.run_id, INGRESS_RUN_ID);
    assert.equal(f!.canonical_value, 'past_due');
    assert.equal(f!.system_value, 'active');
    // A further edit of the same field refreshes the one open finding.
    const [again] = zendesk.agentEdit(user.id, { user_fields: { billing_status: 'canceled' } });
    await sendZendeskWebhook(zendeskUrl(), ZENDESK_SECRET, again);
    await settled();
    const refreshed = (await findings(customer.id)).filter((x) => x.field === 'billing_status');
    assert.equal(refreshed.length, 1);
    assert.equal(refreshed[0]!.system_value, 'canceled');
    assert.equal((await billingOf(db(), customer.id)).status, 'past_due', 'still not applied');
    const runs = (await get('/v1/reconcile/runs?limit=100')).data as { id: string }[];
    assert.ok(
      runs.some((r) => r.id === INGRESS_RUN_ID),
      'the ingress findings belong to a listed run',
    );
  });

  test('a Stripe change to a field Stripe does not outrank is a finding, not applied', async () => {
    const cus = stripe.createCustomer({ email: 'pho@example.com', name: 'Pia Phone', phone: '+13125550100' });
    await sendStripeEvent(stripeUrl(), stripe.event('customer.created', cus), [STRIPE_SECRET]);
    await settled();
    const customer = await customerByEmail('pho@example.com');
    const user = await eventually(async () => zendesk.byExternalId(customer.id), 20_000, 'zendesk user');
    // The agent corrects the phone: Zendesk outranks Stripe for the phone in this config.
    const [phoneEdit] = zendesk.agentEdit(user.id, { phone: '+13125550199' });
    assert.equal(phoneEdit!.type, 'zen:event-type:user.identity_changed');
    await sendZendeskWebhook(zendeskUrl(), ZENDESK_SECRET, phoneEdit);
    await settled();
    assert.equal((await customerByEmail('pho@example.com')).phone, '+13125550199');
    const t = Math.floor(Date.now() / 1000) + 5;
    const later = stripe.event('customer.updated', { ...cus, phone: '+13125550111' }, { created: t });
    await sendStripeEvent(stripeUrl(), later, [STRIPE_SECRET]);
    await settled();
    assert.equal((await customerByEmail('pho@example.com')).phone, '+13125550199', 'not applied');
    const f = (await findings(customer.id)).find((x) => x.field === 'phone' && x.system === 'stripe');
    assert.ok(f, 'a finding');
    assert.equal(f.canonical_value, '+13125550199');
    assert.equal(f.system_value, '+13125550111');
  });

  test('a Stripe field previous_attributes does not name is no change: no finding, no overwrite', async () => {
    const cus = stripe.createCustomer({ email: 'same@example.com', name: 'Una Same', phone: '+13125550300' });
    await sendStripeEvent(stripeUrl(), stripe.event('customer.created', cus), [STRIPE_SECRET]);
    await settled();
    const customer = await customerByEmail('same@example.com');
    const user = await eventually(async () => zendesk.byExternalId(customer.id), 20_000, 'zendesk user');
    const [phoneEdit] = zendesk.agentEdit(user.id, { phone: '+13125550399' });
    await sendZendeskWebhook(zendeskUrl(), ZENDESK_SECRET, phoneEdit);
    await settled();
    const t = Math.floor(Date.now() / 1000) + 5;
    // Billing renames the customer before Hearth's phone write reaches Stripe: the object still
    // holds Stripe's own phone, which did not change.
    const object = { ...cus, name: 'Una Renamed', phone: '+13125550300' };
    const renamed = stripe.event('customer.updated', object, { created: t, previous: { name: 'Una Same' } });
    await sendStripeEvent(stripeUrl(), renamed, [STRIPE_SECRET]);
    await settled();
    const after = await customerByEmail('same@example.com');
    assert.equal(after.phone, '+13125550399', 'the phone owned by Zendesk stays');
    assert.equal(after.family_name, 'Renamed', 'the name Stripe changed is applied');
    const phoneFindings = async () =>
      (await findings(customer.id)).filter((x) => x.field === 'phone' && x.system === 'stripe');
    assert.deepEqual(await phoneFindings(), [], 'no drift finding for a phone Stripe did not change');
    // Control: the same object as a whole-record change (no previous_attributes) is a phone finding.
    const whole = stripe.event('customer.updated', object, { created: t + 1, previous: null });
    await sendStripeEvent(stripeUrl(), whole, [STRIPE_SECRET]);
    await settled();
    assert.equal((await phoneFindings()).length, 1);
  });

  test('an e-mail a Zendesk event carries only to link the user is no change and no finding', async () => {
    const cus = stripe.createCustomer({ email: 'ride@example.com', name: 'Rae Ride' });
    await sendStripeEvent(stripeUrl(), stripe.event('customer.created', cus), [STRIPE_SECRET]);
    await settled();
    const customer = await customerByEmail('ride@example.com');
    const user = await eventually(async () => zendesk.byExternalId(customer.id), 20_000, 'zendesk user');
    // The Zendesk user holds an older e-mail (its update from Hearth not made yet); an agent renames it.
    zendesk.users.set(user.id, { ...user, email: 'ride.old@example.com' });
    const [renamed] = zendesk.agentEdit(user.id, { name: 'Rae Renamed' });
    assert.equal((renamed as { detail: { email: string } }).detail.email, 'ride.old@example.com');
    await sendZendeskWebhook(zendeskUrl(), ZENDESK_SECRET, renamed);
    await settled();
    assert.equal((await customerByEmail('ride@example.com'))?.id, customer.id, 'the e-mail stays');
    const emailFindings = (await findings(customer.id)).filter((x) => x.field === 'email');
    assert.deepEqual(emailFindings, [], 'no drift finding for an e-mail the event did not change');
  });

  test('metadata.hearth_id links a Stripe customer the crosswalk and e-mail do not know', async () => {
    const first = stripe.createCustomer({ email: 'meta@example.com', name: 'Mo Meta' });
    await sendStripeEvent(stripeUrl(), stripe.event('customer.created', first), [STRIPE_SECRET]);
    await settled();
    const customer = await customerByEmail('meta@example.com');
    const second = stripe.createCustomer({
      email: 'meta.billing@example.com',
      name: 'Mo Meta',
      metadata: { hearth_id: customer.id },
    });
    // The invoice arrives first: nobody is known by that Stripe id or e-mail, so it is kept.
    const invoice = { id: 'in_m1', object: 'invoice', customer: second.id, customer_email: second.email };
    await sendStripeEvent(
      stripeUrl(),
      stripe.event('invoice.payment_failed', { ...invoice, next_payment_attempt: null }),
      [STRIPE_SECRET],
    );
    await settled();
    assert.ok(
      (await unlinkedAccounts(db())).some((a) => a.external_id === second.id),
      'kept for review',
    );
    await sendStripeEvent(stripeUrl(), stripe.event('customer.created', second), [STRIPE_SECRET]);
    await settled();
    const link = await db()
      .selectFrom('source_links')
      .select('customer_id')
      .where('system', '=', 'stripe')
      .where('external_id', '=', second.id)
      .executeTakeFirstOrThrow();
    assert.equal(link.customer_id, customer.id, 'linked by metadata.hearth_id');
    const named = await db().selectFrom('customers').select('id').where('given_name', '=', 'Mo').execute();
    assert.equal(named.length, 1, 'no second customer');
    assert.ok(!(await unlinkedAccounts(db())).some((a) => a.external_id === second.id), 'attached');
    assert.equal((await billingOf(db(), customer.id)).status, 'delinquent');
  });

  test('/systems: a refused Zendesk user is under review, not delivered; Stripe without a record says so', async () => {
    await settled();
    const cus = stripe.createCustomer({ email: 'held@example.com', name: 'Hal Held' });
    await sendStripeEvent(stripeUrl(), stripe.event('customer.created', cus), [STRIPE_SECRET]);
    await settled();
    const customer = await customerByEmail('held@example.com');
    const own = await eventually(async () => zendesk.byExternalId(customer.id), 20_000, 'zendesk user');
    assert.equal(await stateOf(customer.id, 'zendesk'), 'confirmed');
    // An agent's user already holds the e-mail the customer moves to: Zendesk refuses (DuplicateValue).
    zendesk.users.set(5, { ...own, id: 5, external_id: null, email: 'held.new@example.com' });
    const moved = stripe.event('customer.updated', { ...cus, email: 'held.new@example.com' });
    await sendStripeEvent(stripeUrl(), moved, [STRIPE_SECRET]);
    await settled();
    assert.equal(await stateOf(customer.id, 'zendesk'), 'review');
    assert.ok((await systems(customer.id)).out_of_date.includes('zendesk'));

    const order = buildOrder({
      order_id: 7101,
      customer_id: 8101,
      email: 'shop.only@example.com',
      first_name: 'Sho',
      last_name: 'Only',
      address1: '2200 N Lincoln Ave',
      city: 'Chicago',
      province_code: 'IL',
      zip: '60614',
    });
    const sent = await sendShopifyWebhook(`${hearth.url}/webhooks/shopify`, 'orders/create', order, SHOPIFY_SECRET);
    assert.equal(sent.status, 200);
    await settled();
    const shopper = await customerByEmail('shop.only@example.com');
    // Hearth never creates Stripe customers: nothing was written there, and the panel says so.
    assert.equal(await stateOf(shopper.id, 'stripe'), 'no_record');
    assert.equal(await stateOf(shopper.id, 'zendesk'), 'confirmed');
    assert.ok(!(await systems(shopper.id)).out_of_date.includes('stripe'), 'no record there is not out of date');
  });

  test('out-of-order and duplicated Stripe deliveries settle on the newest state', async () => {
    const cus = stripe.createCustomer({ email: 'dis@example.com', name: 'Dee Order' });
    // In the past: a time from the future is taken as the time received.
    const t = Math.floor(Date.now() / 1000) - 60;
    const events = [
      stripe.event('customer.created', cus, { created: t }),
      ...[1, 2, 3, 4, 5].map((i) =>
        stripe.event(
          'customer.updated',
          { ...cus, address: { line1: `${i} Main St`, city: 'Chicago' } },
          {
            created: t + i,
          },
        ),
      ),
    ];
    const { sent, statuses } = await sendStripeEventsDisorderly(stripeUrl(), events, [STRIPE_SECRET], {
      seed: 7,
      duplicates: 0.5,
    });
    assert.ok(sent.length > events.length, 'some sent twice');
    assert.ok(statuses.every((s) => s === 200));
    await settled();
    const customer = await customerByEmail('dis@example.com');
    assert.equal((await billingOf(db(), customer.id)).billing_address?.line1, '5 Main St');
  });
});
