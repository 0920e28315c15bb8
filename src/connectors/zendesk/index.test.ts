import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startZendeskSim, type ZendeskSim } from '../../../sim/zendesk.ts';
import { PROFILE_PROJECT, type OutboundJob, type ProfileProjectPayload } from '../../canonical/types.ts';
import type { FetchLike } from '../common/http.ts';
import { createZendeskConnector } from './index.ts';
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

test('a user event becomes a contact change of the Zendesk user; other events are unsupported', () => {
  const body = {
    id: '01ZD1',
    type: 'zen:event-type:user.identity_changed',
    time: ts,
    detail: { id: '9001', name: 'Jane Doe', email: 'jane@example.com', phone: '+13125551212' },
  };
  const [ev] = parseZendeskEvent(Buffer.from(JSON.stringify(body)), 'zendesk', now);
  assert.equal(ev!.delivery_id, '01ZD1');
  assert.deepEqual(ev!.event, {
    type: 'contact.updated',
    source: 'zendesk',
    external_id: '9001',
    contact: { given_name: 'Jane', family_name: 'Doe', email: 'jane@example.com', phone: '+13125551212' },
    vendor_fields: { name: 'Jane Doe', email: 'jane@example.com', phone: '+13125551212' },
    origin_is_hearth: false,
    occurred_at: now,
    version: now,
  });
  const other = parseZendeskEvent(Buffer.from('{"id":"2","type":"zen:event-type:ticket.created"}'), 'zendesk', now);
  assert.equal(other[0]!.event.type, 'unsupported');
  assert.throws(() => parseZendeskEvent(Buffer.from('{"type":"x"}'), 'zendesk', now), /id is required/);
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

test('agent-set user fields: billing status is a billing change, the address of record the address', () => {
  const body = {
    id: '01ZD7',
    type: 'zen:event-type:user.custom_field_changed',
    time: ts,
    detail: {
      id: 9002,
      name: 'Jo Agent',
      email: 'jo@example.com',
      phone: null,
      user_fields: { billing_status: 'active', address_of_record: '1 Main St, Springfield, IL 62701, US' },
    },
  };
  const [contact, billing, ...rest] = parseZendeskEvent(Buffer.from(JSON.stringify(body)), 'zendesk', now);
  assert.deepEqual(rest, []);
  assert.equal(contact!.event.type === 'contact.updated' && contact!.event.contact.address?.postal_code, '62701');
  assert.equal(billing!.delivery_id, '01ZD7:billing_status');
  assert.deepEqual(billing!.event, {
    type: 'billing.status_changed',
    source: 'zendesk',
    external_id: '9002',
    contact: { email: 'jo@example.com' },
    status: 'active',
    reason: 'zendesk agent',
    occurred_at: now,
  });
  const unknown = { ...body, detail: { ...body.detail, user_fields: { billing_status: 'vip' } } };
  assert.equal(parseZendeskEvent(Buffer.from(JSON.stringify(unknown)), 'zendesk', now).length, 1, 'not a status');
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
