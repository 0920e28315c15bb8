import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startHubSpotSim, type HubSpotSim } from '../../sim/hubspot.ts';
import { buildOrder, sendShopifyWebhook } from '../../sim/shopify.ts';
import { sendStripeEvent, startStripeSim, type StripeSim } from '../../sim/stripe.ts';
import { sendZendeskWebhook, startZendeskSim, type ZendeskSim } from '../../sim/zendesk.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { ADMIN_KEY, eventually, freePort, SHOPIFY_SECRET, startTestHearth } from '../../test-support/harness.ts';
import { billingOf, unlinkedAccounts } from '../billing/billing-store.ts';
import { isQuiet } from '../engine/quiet.ts';
import type { Hearth } from '../runtime.ts';

const STRIPE_SECRET = 'whsec_current_secret';
const STRIPE_OLD = 'whsec_rolled_out_secret';
const ZENDESK_SECRET = 'zendesk-signing-secret';
const HS_SECRET = 'hubspot-client-secret';

describeEachDialect('billing and support in the loop (Stripe, Zendesk, HubSpot)', (ctx) => {
  let hearth: Hearth;
  let stripe: StripeSim;
  let zendesk: ZendeskSim;
  let crm: HubSpotSim;
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };
  const db = () => ctx.hdb().db;
  const settled = () => eventually(() => isQuiet(db()), 20_000, 'settled');
  const stripeUrl = () => `${hearth.url}/webhooks/stripe`;
  // The customer linked to its HubSpot contact, as a pull would have: the CRM write-back has a target.
  const linkHubSpot = async (contactId: string, customerId: string) => {
    const now = Date.now();
    await db()
      .insertInto('source_links')
      .values({
        system: 'hubspot',
        external_id: contactId,
        customer_id: customerId,
        snapshot: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
  };
  const inboxCount = async (connector: string) =>
    (await db().selectFrom('inbox_events').select('id').where('connector', '=', connector).execute()).length;
  const customerByEmail = async (email: string) =>
    (await hearth.app.inject({ method: 'GET', url: `/v1/customers?email=${email}`, headers: auth })).json().data[0];

  before(async () => {
    const port = await freePort();
    stripe = await startStripeSim();
    zendesk = await startZendeskSim();
    crm = await startHubSpotSim({
      webhook: { url: `http://127.0.0.1:${port}/webhooks/hubspot`, client_secret: HS_SECRET, app_id: '1' },
    });
    ({ hearth } = await startTestHearth(ctx, {
      port,
      connectors: {
        hubspot: { access_token: crm.token, base_url: crm.url, client_secret: HS_SECRET, app_id: '1' },
        stripe: { api_key: stripe.apiKey, webhook_secret: STRIPE_SECRET, base_url: stripe.url },
        zendesk: {
          email: zendesk.email,
          api_token: zendesk.token,
          base_url: zendesk.url,
          webhook_secret: ZENDESK_SECRET,
          job_poll_ms: 20,
        },
      },
      writeback: { crm: 'hubspot' },
    }));
  });
  after(async () => {
    await hearth.close();
    await Promise.all([stripe.close(), zendesk.close(), crm.close()]);
  });

  test('Stripe-Signature: bad or stale is a 401 and stores nothing; any v1 of a rolling secret passes', async () => {
    const cus = stripe.createCustomer({ email: 'sig@example.com', name: 'Sig Test' });
    const ev = stripe.event('customer.created', cus);
    const before = await inboxCount('stripe');
    assert.equal((await sendStripeEvent(stripeUrl(), ev, ['whsec_wrong'])).status, 401);
    const stale = Math.floor(Date.now() / 1000) - 600;
    assert.equal((await sendStripeEvent(stripeUrl(), ev, [STRIPE_SECRET], stale)).status, 401);
    assert.equal(await inboxCount('stripe'), before, 'nothing stored');
    assert.equal((await sendStripeEvent(stripeUrl(), ev, [STRIPE_OLD, STRIPE_SECRET])).status, 200);
    assert.equal((await sendStripeEvent(stripeUrl(), ev, [STRIPE_SECRET])).status, 200, 'a duplicate is acknowledged');
    assert.equal(await inboxCount('stripe'), before + 2, 'one event id: one contact change and one billing address');
    await settled();
    assert.equal((await customerByEmail('sig@example.com')).given_name, 'Sig');
  });

  test('an older customer.updated never overwrites a newer one (out-of-order delivery)', async () => {
    const cus = stripe.createCustomer({ email: 'order@example.com', name: 'Ola Order', phone: '+13125550001' });
    const t = Math.floor(Date.now() / 1000);
    const newer = stripe.event('customer.updated', { ...cus, phone: '+13125550003' }, { created: t + 20 });
    const older = stripe.event('customer.updated', { ...cus, phone: '+13125550002' }, { created: t + 10 });
    assert.equal((await sendStripeEvent(stripeUrl(), newer, [STRIPE_SECRET])).status, 200);
    await settled();
    assert.equal((await sendStripeEvent(stripeUrl(), older, [STRIPE_SECRET])).status, 200);
    await settled();
    assert.equal((await customerByEmail('order@example.com')).phone, '+13125550003');
  });

  test('previous_attributes out of order: older phone change after a rename applies, older rename not', async () => {
    const cus = stripe.createCustomer({ email: 'attr@example.com', name: 'Ari Attr', phone: '+13125550401' });
    const t = Math.floor(Date.now() / 1000) - 60;
    await sendStripeEvent(stripeUrl(), stripe.event('customer.created', cus, { created: t }), [STRIPE_SECRET]);
    await settled();
    const phone = stripe.event('customer.updated', { ...cus, phone: '+13125550402' }, { created: t + 10 });
    const rename = stripe.event(
      'customer.updated',
      { ...cus, phone: '+13125550402', name: 'Ari Newer' },
      { created: t + 20 },
    );
    const oldName = stripe.event(
      'customer.updated',
      { ...cus, phone: '+13125550402', name: 'Ari Older' },
      { created: t + 15, previous: { name: 'Ari Attr' } },
    );
    assert.deepEqual(rename.data.previous_attributes, { name: 'Ari Attr' });
    for (const ev of [rename, phone, oldName]) {
      assert.equal((await sendStripeEvent(stripeUrl(), ev, [STRIPE_SECRET])).status, 200);
      await settled();
    }
    const c = await customerByEmail('attr@example.com');
    assert.equal(c.phone, '+13125550402', 'the rename carries no phone: the older phone change is not stale');
    assert.equal(c.family_name, 'Newer', 'an older rename is stale');
  });

  test('a Stripe customer first seen in an update (phone only) is created with its e-mail, not its name', async () => {
    const cus = stripe.createCustomer({ email: 'late@example.com', name: 'Lu Late', phone: '+13125550501' });
    const ev = stripe.event('customer.updated', { ...cus, phone: '+13125550502' });
    assert.deepEqual(ev.data.previous_attributes, { phone: '+13125550501' });
    await sendStripeEvent(stripeUrl(), ev, [STRIPE_SECRET]);
    await settled();
    const c = await customerByEmail('late@example.com');
    assert.ok(c, 'found by the e-mail it rode along with');
    assert.equal(c.phone, '+13125550502');
    assert.equal(c.given_name, null, 'the name did not change: not taken from the object');
  });

  test('a card failure reaches the support view; an invoice for an unknown customer creates nothing', async () => {
    const cus = stripe.createCustomer({ email: 'card@example.com', name: 'Cara Card' });
    await sendStripeEvent(stripeUrl(), stripe.event('customer.created', cus), [STRIPE_SECRET]);
    await settled();
    const customer = await customerByEmail('card@example.com');
    const invoice = {
      id: 'in_1',
      object: 'invoice',
      customer: cus.id,
      customer_email: cus.email,
      next_payment_attempt: 1,
    };
    const sub = {
      id: 'sub_1',
      object: 'subscription',
      customer: cus.id,
      status: 'active',
      items: { data: [{ price: { nickname: 'Gold box' } }] },
    };
    await sendStripeEvent(stripeUrl(), stripe.event('customer.subscription.created', sub), [STRIPE_SECRET]);
    assert.equal(
      (await sendStripeEvent(stripeUrl(), stripe.event('invoice.payment_failed', invoice), [STRIPE_SECRET])).status,
      200,
    );
    const user = await eventually(
      async () => {
        const u = zendesk.byExternalId(customer.id);
        return u?.user_fields.billing_status === 'past_due' && u.user_fields.subscriptions ? u : null;
      },
      20_000,
      'billing status in the Zendesk user',
    );
    assert.equal(user.user_fields.subscriptions, 'Gold box (active)');
    assert.equal(user.email, 'card@example.com');
    const billing = await billingOf(db(), customer.id);
    assert.equal(billing.status, 'past_due');
    const view = await hearth.app.inject({ method: 'GET', url: `/v1/customers/${customer.id}/billing`, headers: auth });
    assert.equal(view.json().status, 'past_due');
    assert.deepEqual(view.json().subscriptions, [
      { system: 'stripe', id: 'sub_1', name: 'Gold box', status: 'active' },
    ]);
    await settled();
    const systems = (
      await hearth.app.inject({ method: 'GET', url: `/v1/customers/${customer.id}/systems`, headers: auth })
    ).json();
    assert.deepEqual(systems.out_of_date, []);
    assert.ok(
      systems.data.some((s: { system: string; state: string }) => s.system === 'zendesk' && s.state === 'confirmed'),
    );
    const missing = await hearth.app.inject({ method: 'GET', url: '/v1/customers/cus_none/billing', headers: auth });
    assert.equal(missing.statusCode, 404);

    const stray = {
      id: 'in_2',
      object: 'invoice',
      customer: 'cus_nobody',
      customer_email: 'nobody@example.com',
      next_payment_attempt: null,
    };
    assert.equal(
      (await sendStripeEvent(stripeUrl(), stripe.event('invoice.payment_failed', stray), [STRIPE_SECRET])).status,
      200,
    );
    await settled();
    assert.equal(await customerByEmail('nobody@example.com'), undefined, 'no customer created');
    const kept = await unlinkedAccounts(db());
    assert.ok(
      kept.some((a) => a.external_id === 'cus_nobody' && a.status === 'delinquent'),
      JSON.stringify(kept),
    );
  });

  test('a checkout correction is written to Stripe with an idempotency key, through a 429', async () => {
    const cus = stripe.createCustomer({ email: 'ship@example.com', name: 'Sam Ship' });
    await sendStripeEvent(stripeUrl(), stripe.event('customer.created', cus), [STRIPE_SECRET]);
    await settled();
    stripe.faults.set({ rate_limit_next: 1 });
    const order = buildOrder({
      order_id: 5001,
      customer_id: 6001,
      email: 'ship@example.com',
      first_name: 'Sam',
      last_name: 'Ship',
      address1: '2200 N Lincoln Ave',
      address2: null,
      city: 'Chicago',
      province_code: 'IL',
      zip: '60614',
    });
    assert.equal(
      (await sendShopifyWebhook(`${hearth.url}/webhooks/shopify`, 'orders/create', order, SHOPIFY_SECRET, 'bill-1'))
        .status,
      200,
    );
    const written = await eventually(
      async () =>
        stripe.customers.get(cus.id)?.shipping?.address.line1 === '2200 N Lincoln Ave'
          ? stripe.customers.get(cus.id)
          : null,
      20_000,
      'shipping written to Stripe',
    );
    const customer = await customerByEmail('ship@example.com');
    assert.equal(written.metadata.hearth_id, customer.id);
    const update = stripe.updates.find((u) => u.id === cus.id)!;
    assert.match(update.key ?? '', /^hearth:/);
    await settled();
    // The checkout's address change and its order (points) project once per system, not twice.
    const jobs = await db()
      .selectFrom('jobs')
      .select(['target', 'status', 'payload'])
      .where('customer_id', '=', customer.id)
      .where('kind', '=', 'profile.project')
      .where('event_id', 'in', (eb) => eb.selectFrom('inbox_events').select('id').where('connector', '=', 'shopify'))
      .execute();
    assert.deepEqual(jobs.map((j) => `${j.target}:${j.status}`).sort(), ['stripe:done', 'zendesk:done']);
    for (const j of jobs) assert.equal(JSON.parse(j.payload).address.line1, '2200 N Lincoln Ave');
  });

  test('reconciliation pulls Stripe and Zendesk and scores their drift per field', async () => {
    await settled();
    const c = [...stripe.customers.values()].find((x) => x.email === 'ship@example.com')!;
    c.phone = '+13125557777';
    const customer = await customerByEmail('ship@example.com');
    await db().updateTable('customers').set({ phone: '+13125550042' }).where('id', '=', customer.id).execute();
    for (const system of ['stripe', 'zendesk']) {
      const run = (
        await hearth.app.inject({
          method: 'POST',
          url: '/v1/reconcile/runs',
          headers: auth,
          payload: { systems: [system], wait: true },
        })
      ).json();
      assert.equal(run.status, 'done', JSON.stringify(run));
    }
    const findings = (
      await hearth.app.inject({ method: 'GET', url: '/v1/reconcile/findings?system=stripe&field=phone', headers: auth })
    ).json().data;
    assert.ok(findings.length >= 1, JSON.stringify(findings));
  });

  test('an agent phone correction in Zendesk reaches the CRM under the ownership policy', async () => {
    const hs = crm.createContact({ email: 'zoe@example.com', firstname: 'Zoe', lastname: 'Agent' });
    const cus = stripe.createCustomer({ email: 'zoe@example.com', name: 'Zoe Agent', phone: '+13125551000' });
    await sendStripeEvent(stripeUrl(), stripe.event('customer.created', cus), [STRIPE_SECRET]);
    await settled();
    const customer = await customerByEmail('zoe@example.com');
    await linkHubSpot(hs, customer.id);
    const user = await eventually(async () => zendesk.byExternalId(customer.id), 20_000, 'zendesk user');
    const [edit, ...others] = zendesk.agentEdit(user.id, { phone: '+13125559999' });
    assert.deepEqual(others, []);
    assert.equal((await sendZendeskWebhook(`${hearth.url}/webhooks/zendesk`, 'wrong-secret', edit)).status, 401);
    // A signed user event without the `event` its type needs is a 400 naming the field, stored nowhere.
    const { event: _, ...noEvent } = edit!;
    const bad = await sendZendeskWebhook(`${hearth.url}/webhooks/zendesk`, ZENDESK_SECRET, noEvent);
    assert.equal(bad.status, 400);
    assert.deepEqual(((await bad.json()) as { error: { details: unknown } }).error.details, { field: 'event' });
    assert.equal((await sendZendeskWebhook(`${hearth.url}/webhooks/zendesk`, ZENDESK_SECRET, edit)).status, 200);
    await eventually(async () => crm.getContact(hs)?.properties.phone === '+13125559999', 20_000, 'phone in the CRM');
    assert.equal((await customerByEmail('zoe@example.com')).phone, '+13125559999');
    await settled();
    assert.equal(stripe.customers.get(cus.id)!.phone, '+13125559999', 'and projected to billing');
  });

  test('an agent deleting the phone in Zendesk clears it: logged, and cleared in the CRM and in billing', async () => {
    const hs = crm.createContact({ email: 'del@example.com', firstname: 'Del', lastname: 'Phone' });
    const cus = stripe.createCustomer({ email: 'del@example.com', name: 'Del Phone', phone: '+13125552000' });
    await sendStripeEvent(stripeUrl(), stripe.event('customer.created', cus), [STRIPE_SECRET]);
    await settled();
    const customer = await customerByEmail('del@example.com');
    assert.equal(customer.phone, '+13125552000');
    await linkHubSpot(hs, customer.id);
    const user = await eventually(async () => zendesk.byExternalId(customer.id), 20_000, 'zendesk user');
    const [edit] = zendesk.agentEdit(user.id, { phone: '+13125552001' });
    await sendZendeskWebhook(`${hearth.url}/webhooks/zendesk`, ZENDESK_SECRET, edit);
    await eventually(async () => crm.getContact(hs)?.properties.phone === '+13125552001', 20_000, 'phone in the CRM');
    await settled();
    const [deleted, ...others] = zendesk.agentEdit(user.id, { phone: null });
    assert.deepEqual(others, []);
    assert.equal(deleted!.type, 'zen:event-type:user.identity_deleted');
    assert.equal((await sendZendeskWebhook(`${hearth.url}/webhooks/zendesk`, ZENDESK_SECRET, deleted)).status, 200);
    await settled();
    assert.equal((await customerByEmail('del@example.com')).phone, null);
    await eventually(async () => crm.getContact(hs)?.properties.phone === '', 20_000, 'phone cleared in the CRM');
    const log = await db()
      .selectFrom('change_log')
      .select(['old_value', 'new_value', 'source_system'])
      .where('customer_id', '=', customer.id)
      .where('field', '=', 'phone')
      .orderBy('changed_at', 'desc')
      .executeTakeFirstOrThrow();
    assert.deepEqual(log, { old_value: '+13125552001', new_value: null, source_system: 'zendesk' });
    assert.equal(stripe.customers.get(cus.id)!.phone, null, 'cleared in billing (Stripe unsets on "")');
    assert.equal(stripe.updates.at(-1)!.params.phone, '');
  });

  test('Stripe removing the phone (null, named in previous_attributes) clears it; support loses it too', async () => {
    const cus = stripe.createCustomer({ email: 'nophone@example.com', name: 'Nia Nophone', phone: '+13125553000' });
    await sendStripeEvent(stripeUrl(), stripe.event('customer.created', cus), [STRIPE_SECRET]);
    await settled();
    const customer = await customerByEmail('nophone@example.com');
    await eventually(async () => zendesk.byExternalId(customer.id)?.phone === '+13125553000', 20_000, 'zendesk phone');
    const removed = stripe.event('customer.updated', { ...cus, phone: null });
    assert.deepEqual(removed.data.previous_attributes, { phone: '+13125553000' });
    await sendStripeEvent(stripeUrl(), removed, [STRIPE_SECRET]);
    await settled();
    assert.equal((await customerByEmail('nophone@example.com')).phone, null);
    assert.equal(zendesk.byExternalId(customer.id)!.phone, null, 'the Zendesk user lost it too');
    // A whole-object event (no previous_attributes) with phone null is no clear: nothing to clear
    // now, so the phone is set again first, then an update that does not name it leaves it.
    await sendStripeEvent(stripeUrl(), stripe.event('customer.updated', { ...cus, phone: '+13125553001' }), [
      STRIPE_SECRET,
    ]);
    await settled();
    const bare = stripe.event('customer.updated', { ...cus, phone: null }, { previous: null });
    await sendStripeEvent(stripeUrl(), bare, [STRIPE_SECRET]);
    await settled();
    assert.equal((await customerByEmail('nophone@example.com')).phone, '+13125553001', 'a bare null is no value');
  });

  test('a phone emptied in HubSpot (the owner) clears it in Hearth and in Zendesk and Stripe', async () => {
    const hs = crm.createContact({ email: 'hsclear@example.com', firstname: 'Hal', lastname: 'Clear' });
    const cus = stripe.createCustomer({ email: 'hsclear@example.com', name: 'Hal Clear', phone: '+13125554000' });
    await sendStripeEvent(stripeUrl(), stripe.event('customer.created', cus), [STRIPE_SECRET]);
    await settled();
    const customer = await customerByEmail('hsclear@example.com');
    await linkHubSpot(hs, customer.id);
    crm.updateFromUi(hs, { phone: '+13125554001' });
    await eventually(
      async () => (await customerByEmail('hsclear@example.com')).phone === '+13125554001',
      20_000,
      'the CRM phone in Hearth',
    );
    await settled();
    crm.updateFromUi(hs, { phone: '' });
    await eventually(
      async () => (await customerByEmail('hsclear@example.com')).phone === null,
      20_000,
      'the CRM clear in Hearth',
    );
    await settled();
    assert.equal(zendesk.byExternalId(customer.id)!.phone, null);
    assert.equal(stripe.customers.get(cus.id)!.phone, null);
  });

  test('create_or_update_many partial failure settles per user; a duplicate e-mail is a review item', async () => {
    await settled();
    zendesk.failNext.add('retry@example.com');
    const mk = (n: number, email: string) => stripe.createCustomer({ email, name: `Pat Part${n}` });
    const fineCus = mk(2, 'fine@example.com');
    await sendStripeEvent(stripeUrl(), stripe.event('customer.created', mk(1, 'retry@example.com')), [STRIPE_SECRET]);
    await sendStripeEvent(stripeUrl(), stripe.event('customer.created', fineCus), [STRIPE_SECRET]);
    await settled();
    const retry = await customerByEmail('retry@example.com');
    const fine = await customerByEmail('fine@example.com');
    assert.ok(zendesk.byExternalId(retry.id), 'the failed user retried and landed');
    assert.ok(zendesk.byExternalId(fine.id));
    // An agent already has a user with the address the customer moves to: Zendesk refuses the e-mail.
    zendesk.users.set(1, { ...zendesk.byExternalId(fine.id)!, id: 1, external_id: null, email: 'dupe@example.com' });
    const moved = stripe.event('customer.updated', { ...fineCus, email: 'dupe@example.com' });
    await sendStripeEvent(stripeUrl(), moved, [STRIPE_SECRET]);
    await settled();
    const dead = (
      await hearth.app.inject({ method: 'GET', url: '/v1/jobs?target=zendesk&status=dead', headers: auth })
    ).json().data;
    assert.deepEqual(dead, [], 'not a dead letter');
    const items = async () =>
      (await hearth.app.inject({ method: 'GET', url: '/v1/review?kind=system_duplicate', headers: auth })).json()
        .data as { customers: { id: string }[]; source_system: string; explanation: any }[];
    const [item, ...more] = await items();
    assert.deepEqual(more, []);
    assert.deepEqual(
      item!.customers.map((c) => c.id),
      [fine.id],
    );
    assert.equal(item!.source_system, 'zendesk');
    assert.equal(item!.explanation.holder_external_id, '1');
    assert.equal(item!.explanation.reason, 'duplicate_email');
    assert.doesNotMatch(item!.explanation.message, /dupe@/, 'no e-mail in the message (it reaches logs)');
    // The next change projects again and is refused again: no second item, no retry loop.
    const jobsBefore = (await db().selectFrom('jobs').select('id').where('target', '=', 'zendesk').execute()).length;
    await sendStripeEvent(
      stripeUrl(),
      stripe.event('customer.updated', { ...fineCus, email: 'dupe@example.com', name: 'Pat Renamed' }),
      [STRIPE_SECRET],
    );
    await settled();
    assert.equal((await items()).length, 1, 'queued once');
    const jobsAfter = await db().selectFrom('jobs').select(['id', 'status']).where('target', '=', 'zendesk').execute();
    // One event: a contact change and a billing address, each projected once; settled means nothing retries.
    assert.ok(
      jobsAfter.length <= jobsBefore + 2,
      `one event's projections, not a loop (${jobsAfter.length - jobsBefore})`,
    );
    assert.ok(jobsAfter.every((j) => j.status === 'done' || j.status === 'superseded'));
  });

  test('a duplicate e-mail held by another Hearth customer in Zendesk is a match pair for review', async () => {
    await settled();
    const a = stripe.createCustomer({ email: 'twin.a@example.com', name: 'Tara Twin' });
    const b = stripe.createCustomer({ email: 'twin.b@example.com', name: 'Tara Twin' });
    for (const c of [a, b]) await sendStripeEvent(stripeUrl(), stripe.event('customer.created', c), [STRIPE_SECRET]);
    await settled();
    const ca = await customerByEmail('twin.a@example.com');
    const cb = await customerByEmail('twin.b@example.com');
    const ua = zendesk.byExternalId(ca.id)!;
    assert.ok(ua && zendesk.byExternalId(cb.id));
    // Billing moves B onto A's e-mail: Zendesk refuses it, A's user holds it; A and B may be one person.
    await sendStripeEvent(stripeUrl(), stripe.event('customer.updated', { ...b, email: 'twin.a@example.com' }), [
      STRIPE_SECRET,
    ]);
    await settled();
    const pairs = (await hearth.app.inject({ method: 'GET', url: '/v1/review?kind=match', headers: auth })).json()
      .data as { customers: { id: string }[]; explanation: any }[];
    const pair = pairs.find((p) => p.explanation?.reason === 'duplicate_email');
    assert.ok(pair, JSON.stringify(pairs));
    assert.deepEqual(pair.customers.map((c) => c.id).sort(), [ca.id, cb.id].sort());
    assert.equal(pair.explanation.holder_external_id, String(ua.id));
    const dead = await db()
      .selectFrom('jobs')
      .select('id')
      .where('status', '=', 'dead')
      .where('target', '=', 'zendesk')
      .execute();
    assert.deepEqual(dead, []);
  });
});
