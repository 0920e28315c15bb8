import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startZendeskSim, type ZendeskSim } from '../../../sim/zendesk.ts';
import { PROFILE_PROJECT, type OutboundJob, type ProfileProjectPayload } from '../../canonical/types.ts';
import type { FetchLike } from '../common/http.ts';
import { createZendeskConnector } from './index.ts';
import { HearthError } from '../../errors.ts';
import { addressOfRecord, userOf, parseZendeskEvent } from './mapping.ts';
import { verifyZendeskSignature, zendeskSignature } from './signature.ts';

const SECRET = 'zendesk-unit-secret';
const now = Date.UTC(2026, 11, 1, 12, 0, 0);
const ts = new Date(now).toISOString();

test('X-Zendesk-Webhook-Signature over timestamp + body; wrong, stale or missing fails', () => {
  const raw = Buffer.from('{"id":"1"}');
  const sig = zendeskSignature(SECRET, ts, raw.toString());
  assert.deepEqual(verifyZendeskSignature(raw, sig, ts, SECRET, now, 300), { ok: true });
  assert.equal(verifyZendeskSignature(raw, sig, ts, 'other-secret', now, 300).ok, false);
  assert.equal(verifyZendeskSignature(raw, sig, ts, SECRET, now + 301_000, 300).ok, false);
  assert.equal(verifyZendeskSignature(raw, sig, undefined, SECRET, now, 300).ok, false);
  assert.equal(verifyZendeskSignature(Buffer.from('{"id":"2"}'), sig, ts, SECRET, now, 300).ok, false);
});

/** The user as Zendesk event webhooks carry it in `detail`: ids as strings, no name, phone or user fields. */
const DETAIL = {
  created_at: '2026-11-30T10:00:00Z',
  email: 'jane@example.com',
  external_id: 'cus_J1',
  default_group_id: '0',
  id: '9001',
  organization_id: '0',
  role: 'end-user',
  updated_at: ts,
};

/** A Zendesk event webhook body (the docs' example shape) for one user event. */
const zendeskEvent = (type: string, event: unknown, detail: object = DETAIL) => ({
  type: `zen:event-type:user.${type}`,
  account_id: 12514403,
  id: `2b24ef10-19d4-4740-93cf-8f98ec4776c0-${type}`,
  time: ts.replace('.000Z', 'Z'),
  zendesk_event_version: '2022-06-20',
  subject: `zen:user:${(detail as { id?: string }).id}`,
  detail,
  ...(event === undefined ? {} : { event }),
});
const parse = (body: unknown) => parseZendeskEvent(Buffer.from(JSON.stringify(body)), 'zendesk', now);
/** The contact of the one contact.updated a body becomes. */
const contactIn = (body: unknown) => {
  const [ev, ...rest] = parse(body);
  assert.deepEqual(rest, []);
  assert.equal(ev!.event.type, 'contact.updated');
  return ev!.event.type === 'contact.updated' ? ev!.event.contact : null;
};
const phone = (value: string, id = 51) => ({ id, type: 'phone_number', value, primary: true, verified: false });

/** The contact.updated Zendesk user 9001 becomes, with what one event changed. */
const contactChange = (type: string, contact: object, vendor_fields: object) => ({
  delivery_id: `2b24ef10-19d4-4740-93cf-8f98ec4776c0-${type}`,
  event: {
    type: 'contact.updated',
    source: 'zendesk',
    external_id: '9001',
    contact: { email: 'jane@example.com', ...contact },
    vendor_fields,
    origin_is_hearth: false,
    occurred_at: now,
    version: now,
    hearth_id: 'cus_J1',
    // The detail's e-mail rides along to link the user: named as no change.
    unchanged: ['email'],
  },
});

test('user.name_changed: only the name changes; detail.external_id and e-mail link the user', () => {
  const body = zendeskEvent('name_changed', { current: 'Jane Q Doe', previous: 'Jane Doe' });
  assert.deepEqual(parse(body), [
    contactChange('name_changed', { given_name: 'Jane', family_name: 'Q Doe' }, { name: 'Jane Q Doe' }),
  ]);
  // A user an agent made, without external id or e-mail (Zendesk sends ""): nothing to link by.
  const bare = zendeskEvent(
    'name_changed',
    { current: 'Al', previous: '' },
    { ...DETAIL, external_id: '', email: null },
  );
  const [ev] = parse(bare);
  assert.equal(ev!.event.type === 'contact.updated' && 'hearth_id' in ev!.event, false);
  assert.deepEqual(contactIn(bare), { given_name: 'Al', family_name: null });
});

test('user.identity_created|changed|deleted: an agent sets, corrects or removes the phone', () => {
  const created = zendeskEvent('identity_created', { current: phone('+13125551212'), previous: null });
  assert.deepEqual(parse(created), [
    contactChange('identity_created', { phone: '+13125551212' }, { phone: '+13125551212' }),
  ]);
  const changed = zendeskEvent('identity_changed', {
    current: phone('+13125550199'),
    previous: phone('+13125551212'),
  });
  assert.deepEqual(parse(changed), [
    contactChange('identity_changed', { phone: '+13125550199' }, { phone: '+13125550199' }),
  ]);
  const deleted = zendeskEvent('identity_deleted', { current: null, previous: phone('+13125550199') });
  const gone = contactChange('identity_deleted', { phone: null }, { phone: null });
  assert.deepEqual(parse(deleted), [{ ...gone, event: { ...gone.event, cleared: ['phone'] } }], 'a clear');
  // A phone identity changed to no value is a clear too.
  const emptied = zendeskEvent('identity_changed', { current: phone(''), previous: phone('+13125550199') });
  const [e] = parse(emptied);
  assert.deepEqual(e!.event.type === 'contact.updated' && [e!.event.contact.phone, e!.event.cleared], [
    null,
    ['phone'],
  ]);
  // The primary e-mail identity is the user's e-mail (it replaces the detail's as the contact's).
  const email = zendeskEvent('identity_changed', {
    current: { id: 50, type: 'email', value: 'jane.new@example.com', primary: true },
    previous: { id: 50, type: 'email', value: 'jane@example.com', primary: true },
  });
  assert.deepEqual(contactIn(email), {
    email: 'jane.new@example.com',
  });
  // Identities that are not the user's phone or primary e-mail say nothing Hearth reads.
  for (const current of [
    { id: 52, type: 'twitter', value: 'janedoe', primary: false },
    { id: 53, type: 'email', value: 'jane.work@example.com', primary: false },
    { id: 54, type: 'phone_number', value: '+13125550000', primary: false },
  ])
    assert.equal(parse(zendeskEvent('identity_created', { current, previous: null }))[0]!.event.type, 'unsupported');
  const emailGone = zendeskEvent('identity_deleted', { previous: { id: 53, type: 'email', value: 'x@example.com' } });
  assert.equal(parse(emailGone)[0]!.event.type, 'unsupported');
});

test('user.custom_field_changed: billing status is a billing change, the address of record the address', () => {
  const field = (key: string, title: string) => ({ id: 360001, title, type: 'text', key });
  const billing = zendeskEvent('custom_field_changed', {
    current: 'active',
    previous: 'past_due',
    field: field('billing_status', 'Billing status'),
  });
  assert.deepEqual(parse(billing), [
    {
      delivery_id: billing.id,
      event: {
        type: 'billing.status_changed',
        source: 'zendesk',
        external_id: '9001',
        contact: { email: 'jane@example.com' },
        status: 'active',
        reason: 'zendesk agent',
        occurred_at: now,
      },
    },
  ]);
  // Matched by the field's key, else by the title Hearth gives it.
  const byTitle = zendeskEvent('custom_field_changed', {
    current: '1 Main St, Springfield, IL 62701, US',
    previous: null,
    field: { id: 360008, title: 'Address of record', type: 'text' },
  });
  const [address, ...rest] = parse(byTitle);
  assert.deepEqual(rest, []);
  assert.deepEqual(address!.event.type === 'contact.updated' && address!.event.contact, {
    email: 'jane@example.com',
    address: {
      line1: '1 Main St',
      line2: null,
      city: 'Springfield',
      region: 'IL',
      postal_code: '62701',
      country: 'US',
    },
  });
  assert.deepEqual(address!.event.type === 'contact.updated' && address!.event.vendor_fields, {
    address_of_record: '1 Main St, Springfield, IL 62701, US',
  });
  // A status Hearth does not know, a field support only reads, a field that is not Hearth's: ignored.
  const vip = zendeskEvent('custom_field_changed', {
    current: 'vip',
    previous: 'active',
    field: field('billing_status', 'x'),
  });
  const tier = zendeskEvent('custom_field_changed', {
    current: 'gold',
    previous: null,
    field: field('loyalty_tier', 'y'),
  });
  const other = zendeskEvent('custom_field_changed', {
    current: 'x',
    previous: null,
    field: field('shoe_size', 'Shoe'),
  });
  for (const b of [vip, tier, other]) assert.equal(parse(b)[0]!.event.type, 'unsupported');
});

test('user.external_id_changed links the Zendesk user to the Hearth customer it now names', () => {
  const body = zendeskEvent(
    'external_id_changed',
    { current: 'cus_J2', previous: 'cus_J1' },
    { ...DETAIL, external_id: 'cus_J2' },
  );
  const [ev] = parse(body);
  assert.deepEqual(ev!.event, {
    type: 'contact.updated',
    source: 'zendesk',
    external_id: '9001',
    contact: { email: 'jane@example.com' },
    vendor_fields: { external_id: 'cus_J2' },
    origin_is_hearth: false,
    occurred_at: now,
    version: now,
    hearth_id: 'cus_J2',
    unchanged: ['email'],
  });
});

test('other user events and other event types are stored as unsupported', () => {
  for (const body of [
    zendeskEvent('active_changed', { current: false, previous: true }),
    zendeskEvent('tags_changed', { current: ['vip'], previous: [] }),
    zendeskEvent('deleted', undefined),
    { id: '2', type: 'zen:event-type:organization.created', detail: { id: '7' } },
  ]) {
    const [ev, ...rest] = parse(body);
    assert.deepEqual(rest, []);
    assert.deepEqual(ev, {
      delivery_id: body.id,
      event: { type: 'unsupported', source: 'zendesk', vendor_type: body.type },
    });
  }
});

test('malformed user events are bad requests naming the field', () => {
  const field = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof HearthError);
      assert.equal(err.code, 'bad_request');
      return (err.details as { field?: string } | undefined)?.field;
    }
    assert.fail('no error');
  };
  assert.equal(
    field(() => parseZendeskEvent(Buffer.from('not json'), 'zendesk', now)),
    'body',
  );
  assert.equal(
    field(() => parse({ type: 'zen:event-type:user.name_changed' })),
    'id',
  );
  assert.equal(
    field(() => parse({ id: '1' })),
    'type',
  );
  assert.equal(
    field(() => parse({ ...zendeskEvent('name_changed', { current: 'A' }), detail: {} })),
    'detail.id',
  );
  for (const type of [
    'name_changed',
    'identity_created',
    'identity_changed',
    'identity_deleted',
    'custom_field_changed',
  ])
    assert.equal(
      field(() => parse(zendeskEvent(type, undefined))),
      'event',
      type,
    );
  assert.equal(
    field(() => parse(zendeskEvent('name_changed', { current: 7 }))),
    'event.current',
  );
  assert.equal(
    field(() => parse(zendeskEvent('identity_changed', { current: '+1312' }))),
    'event.current',
  );
  assert.equal(
    field(() => parse(zendeskEvent('identity_deleted', { current: null, previous: null }))),
    'event.previous',
  );
  assert.equal(
    field(() => parse(zendeskEvent('custom_field_changed', { current: 'active' }))),
    'event.field',
  );
  // A cleared user field (no `current`) is no value: no status, so nothing Hearth reads.
  const cleared = zendeskEvent('custom_field_changed', { field: { key: 'billing_status' } });
  assert.equal(parse(cleared)[0]!.event.type, 'unsupported');

  assert.equal(
    field(() => parse(zendeskEvent('external_id_changed', { current: 5 }))),
    'event.current',
  );
});

test('support sees household, tier, points, billing status, subscriptions and the address as user fields', () => {
  const u = userOf({
    customer_id: 'cus_H1',
    external_id: null,
    given_name: 'Ana',
    family_name: 'Diaz',
    email: 'ana@example.com',
    phone: null,
    address: { line1: '1 Main St', line2: null, city: 'Chicago', region: 'IL', postal_code: '60614', country: 'US' },
    household_id: 'hh_1',
    hierarchy_role: 'head',
    loyalty_tier: 'gold',
    points_balance: 120,
    billing_status: 'past_due',
    billing_status_since: now,
    billing_address: null,
    subscriptions: [{ id: 'sub_1', name: 'Gold box', status: 'active' }],
  });
  assert.equal(u.external_id, 'cus_H1');
  assert.equal(u.name, 'Ana Diaz');
  assert.deepEqual(u.user_fields, {
    household_id: 'hh_1',
    hierarchy_role: 'head',
    loyalty_tier: 'gold',
    points_balance: 120,
    billing_status: 'past_due',
    billing_status_since: ts,
    subscriptions: 'Gold box (active)',
    address_of_record: '1 Main St, Chicago, IL 60614, US',
  });
});

test('the address of record reads back from its user field (reconciliation compares what agents see)', () => {
  assert.deepEqual(addressOfRecord('2200 North Lincoln Avenue, Apt 4B, Chicago, IL 60614, US'), {
    line1: '2200 North Lincoln Avenue',
    line2: 'Apt 4B',
    city: 'Chicago',
    region: 'IL',
    postal_code: '60614',
    country: 'US',
  });
  assert.equal(addressOfRecord('1 Main St, Chicago, IL 60614, US')?.line2, null);
  assert.deepEqual(addressOfRecord('somewhere'), { line1: 'somewhere' });
  assert.equal(addressOfRecord(null), null);
});

const job = (n: number, email: string | null): OutboundJob<ProfileProjectPayload> => ({
  id: `job_${n}`,
  kind: PROFILE_PROJECT,
  attempts: 0,
  payload: {
    customer_id: `cus_Z${n}`,
    external_id: null,
    given_name: 'Zoe',
    family_name: `Number${n}`,
    email,
    phone: null,
    address: null,
    household_id: null,
    hierarchy_role: null,
    loyalty_tier: 'gold',
    points_balance: n,
    billing_status: null,
    billing_status_since: null,
    billing_address: null,
    subscriptions: [],
  },
});

/** A simulator over loopback for one test. */
async function withSim(run: (sim: ZendeskSim) => Promise<void>): Promise<void> {
  const sim = await startZendeskSim();
  try {
    await run(sim);
  } finally {
    await sim.close();
  }
}

const connectorFor = (sim: ZendeskSim, fetchFn?: FetchLike) =>
  createZendeskConnector(
    {
      email: sim.email,
      api_token: sim.token,
      base_url: sim.url,
      webhook_secret: 'zendesk-unit-secret',
      tolerance_seconds: 300,
      job_poll_ms: 5,
      job_timeout_ms: 2000,
    },
    { fetch: fetchFn, now: () => now },
  );

test('create_or_update_many (node-zendesk): each user settles alone; a duplicate e-mail is a review', async () => {
  await withSim(async (sim) => {
    const zd = connectorFor(sim);
    assert.equal((await zd.outbound!.deliver([job(3, 'three@example.com')]))[0]!.ok, true);
    // An agent's user already holds the e-mail customer 3 moves to.
    sim.users.set(1, {
      id: 1,
      name: 'Agent Made',
      email: 'held@example.com',
      phone: null,
      external_id: null,
      role: 'end-user',
      user_fields: {},
      created_at: ts,
      updated_at: ts,
    });
    sim.failNext.add('flaky@example.com');
    const [fine, flaky, held] = await zd.outbound!.deliver([
      job(1, 'fine@example.com'),
      job(2, 'flaky@example.com'),
      job(3, 'held@example.com'),
    ]);
    assert.deepEqual(sim.batches, [1, 3]);
    assert.equal(fine!.ok && fine!.external_id, String(sim.byExternalId('cus_Z1')!.id));
    assert.equal(fine!.ok && fine!.written?.email, 'fine@example.com');
    assert.equal(sim.byExternalId('cus_Z1')!.user_fields.points_balance, 1);
    assert.deepEqual(flaky, { ok: false, kind: 'transient', message: 'zendesk: InternalError try again' });
    assert.deepEqual(held, {
      ok: true,
      review: {
        reason: 'duplicate_email',
        holder_external_id: '1',
        message: 'zendesk DuplicateValue: the e-mail belongs to Zendesk user 1',
      },
    });
  });
});

test('node-zendesk errors: 429 keeps Retry-After, 5xx and dropped sockets are transient', async () => {
  await withSim(async (sim) => {
    const zd = connectorFor(sim);
    const one = async () => (await zd.outbound!.deliver([job(7, 'seven@example.com')]))[0];
    sim.faults.set({ rate_limit_next: 1, retry_after_s: 7 });
    assert.deepEqual(await one(), {
      ok: false,
      kind: 'rate_limited',
      message: 'zendesk 429',
      retry_after_ms: 7000,
    });
    sim.faults.set({ server_error_next: 1 });
    assert.deepEqual(await one(), { ok: false, kind: 'transient', message: 'zendesk 503' });
    sim.faults.set({ drop_next: 1 });
    const dropped = await one();
    assert.equal(!dropped!.ok && dropped!.kind, 'transient');
    assert.deepEqual(sim.batches, [], 'nothing reached create_or_update_many');
    assert.equal((await one())!.ok, true, 'and then it goes through');
  });
});

test('a job status poll answering 503 retries the batch as a whole', async () => {
  await withSim(async (sim) => {
    // The write is accepted; the poll after it fails.
    const failPoll: FetchLike = async (url, init) => {
      const res = await fetch(url, init);
      if (init.method === 'POST') sim.faults.set({ server_error_next: 1 });
      return res;
    };
    const [r] = await connectorFor(sim, failPoll).outbound!.deliver([job(8, 'eight@example.com')]);
    assert.deepEqual(sim.batches, [1]);
    assert.deepEqual(r, { ok: false, kind: 'transient', message: 'zendesk job status 503' });
  });
});

test('an injected fetch carries the node-zendesk requests (and the contacts list)', async () => {
  await withSim(async (sim) => {
    const seen: string[] = [];
    const counting: FetchLike = (url, init) => {
      seen.push(`${init.method} ${new URL(url).pathname}`);
      return fetch(url, init);
    };
    const zd = connectorFor(sim, counting);
    assert.equal(seen.length, 0, 'nothing sent before the first delivery');
    const [r] = await zd.outbound!.deliver([job(9, 'nine@example.com')]);
    assert.equal(r!.ok, true);
    const page = await zd.source!.listContacts(null, { limit: 1 });
    assert.equal(page.records[0]!.contact.email, 'nine@example.com');
    assert.deepEqual(seen, [
      'POST /api/v2/users/create_or_update_many.json',
      'GET /api/v2/job_statuses/V3-1.json',
      'GET /api/v2/job_statuses/V3-1.json',
      'GET /api/v2/users.json',
    ]);
  });
});

test('node-zendesk throws or returns by status and Retry-After: the status and header are what count', async () => {
  const answering =
    (status: number, headers: Record<string, string> = {}): FetchLike =>
    async () => ({
      status,
      headers: new Headers({ 'content-type': 'application/json', ...headers }),
      text: async () => '{"error":"Whatever"}',
    });
  const deliver = async (f: FetchLike) =>
    (
      await connectorFor(
        { email: 'a@example.com', token: 't', url: 'http://127.0.0.1:9' } as ZendeskSim,
        f,
      ).outbound!.deliver([job(1, 'one@example.com')])
    )[0];
  // Thrown by the SDK (no Retry-After): the status survives, no retry hint.
  assert.deepEqual(await deliver(answering(429)), { ok: false, kind: 'rate_limited', message: 'zendesk 429' });
  assert.deepEqual(await deliver(answering(422)), { ok: false, kind: 'invalid', message: 'zendesk 422' });
  // Returned by the SDK (it calls every answer with Retry-After a 429): still a 503, with its hint.
  assert.deepEqual(await deliver(answering(503, { 'retry-after': '3' })), {
    ok: false,
    kind: 'transient',
    message: 'zendesk 503',
    retry_after_ms: 3000,
  });
  // A status the SDK does not know (returned as if fine): still a 502.
  assert.deepEqual(await deliver(answering(502)), { ok: false, kind: 'transient', message: 'zendesk 502' });
});

test('the simulator sends what the parser reads: one event per changed attribute', async () => {
  await withSim(async (sim) => {
    await connectorFor(sim).outbound!.deliver([job(4, 'four@example.com')]);
    const user = sim.byExternalId('cus_Z4')!;
    const edits = sim.agentEdit(user.id, {
      name: 'Zoe Renamed',
      phone: '+13125550144',
      user_fields: { billing_status: 'canceled', loyalty_tier: 'gold' },
    });
    assert.deepEqual(
      edits.map((e) => e.type),
      [
        'zen:event-type:user.name_changed',
        'zen:event-type:user.identity_created',
        'zen:event-type:user.custom_field_changed',
      ],
      'the tier was already gold: no event',
    );
    for (const e of edits) {
      assert.deepEqual(Object.keys(e.detail).sort(), Object.keys(DETAIL).sort(), 'detail has only the documented keys');
      assert.equal(e.detail.external_id, 'cus_Z4');
      assert.equal(e.subject, `zen:user:${user.id}`);
    }
    const parsed = edits.flatMap((e) => parse(e).map((p) => p.event));
    assert.deepEqual(
      parsed.map((p) => (p.type === 'contact.updated' ? p.contact : p.type)),
      [
        { email: 'four@example.com', given_name: 'Zoe', family_name: 'Renamed' },
        { email: 'four@example.com', phone: '+13125550144' },
        'billing.status_changed',
      ],
    );
    const [removed] = sim.agentEdit(user.id, { phone: null });
    assert.equal(removed!.type, 'zen:event-type:user.identity_deleted');
    assert.deepEqual(contactIn(removed), {
      email: 'four@example.com',
      phone: null,
    });
    assert.deepEqual(sim.agentEdit(user.id, { name: 'Zoe Renamed' }), [], 'an unchanged value sends nothing');
  });
});
