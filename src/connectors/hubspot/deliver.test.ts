import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startHubSpotSim, type HubSpotSim } from '../../../sim/hubspot.ts';
import type { AddressWritePayload, DeliveryResult, OutboundJob } from '../../canonical/types.ts';
import { createHubSpotConnector } from './index.ts';

let crm: HubSpotSim;
before(async () => {
  crm = await startHubSpotSim();
});
after(() => crm.close());

const job = (id: string, attempts: number): OutboundJob<AddressWritePayload> => ({
  id,
  kind: 'crm.address_write',
  attempts,
  payload: {
    customer_id: 'cus_1',
    external_id: null,
    email: 'cache@example.com',
    address: { line1: '9 Oak St', city: 'Chicago', region: 'IL', postal_code: '60614', country: 'US' },
    corrected_at: 0,
  },
});

test('an e-mail lookup that succeeded is kept for the retry: a job needs each call to succeed once', async () => {
  const id = crm.createContact({ email: 'cache@example.com', address: '1 Elm St', city: 'Springfield', zip: '62701' });
  const connector = createHubSpotConnector({ access_token: crm.token, base_url: crm.url });
  // Every second request is refused: each attempt's search succeeds and its write fails, forever,
  // unless the retry skips the search it already did.
  crm.faults.set({ rate_limit_every: 2 });
  const outcomes: DeliveryResult[] = [];
  for (let attempt = 1; attempt <= 3 && !outcomes.at(-1)?.ok; attempt++)
    outcomes.push(...(await connector.outbound!.deliver([job('job_cache', attempt)])));
  crm.faults.set({});
  assert.deepEqual(
    outcomes.map((r) => (r.ok ? 'ok' : r.kind)),
    ['rate_limited', 'ok'],
  );
  assert.equal(crm.getContact(id)!.properties.address, '9 Oak St');
});

test('a vendor call that never answers fails as transient after the configured timeout', async () => {
  crm.createContact({ email: 'hang@example.com', address: '1 Elm St' });
  const connector = createHubSpotConnector({ access_token: crm.token, base_url: crm.url, timeout_ms: 200 });
  crm.faults.set({ hang_if_body_includes: 'hang@example.com' });
  const hung = crm.hung;
  const [r] = await connector.outbound!.deliver([
    { ...job('job_hang', 1), payload: { ...job('', 1).payload, email: 'hang@example.com' } },
  ]);
  crm.faults.set({});
  assert.equal(crm.hung, hung + 1, 'the request reached the vendor and was left unanswered');
  assert.equal(r!.ok, false);
  assert.equal(!r!.ok && r!.kind, 'transient');
});

const OAK = { line1: '9 Oak St', city: 'Chicago', region: 'IL', postal_code: '60614', country: 'US' };
const byEmail = (id: string, email: string, external_id: string | null = null): OutboundJob<AddressWritePayload> => ({
  ...job(id, 1),
  payload: { ...job(id, 1).payload, email, external_id },
});
const kinds = (rs: DeliveryResult[]) => rs.map((r) => (r.ok ? 'ok' : r.kind));

test('a batch of e-mails is one batch read and one batch update: found, missing, any case', async () => {
  const a = crm.createContact({ email: 'read-a@example.com', address: '1 Elm St', city: 'Springfield' });
  const c = crm.createContact({ email: 'Read.C@Example.COM', address: '2 Elm St', city: 'Springfield' });
  const connector = createHubSpotConnector({ access_token: crm.token, base_url: crm.url });
  const before = crm.requests;
  const rs = await connector.outbound!.deliver([
    byEmail('j_a', 'read-a@example.com'),
    byEmail('j_b', 'read-missing@example.com'),
    byEmail('j_c', ' read.c@EXAMPLE.com'),
  ]);
  assert.deepEqual(kinds(rs), ['ok', 'not_found', 'ok']);
  assert.deepEqual(
    rs.map((r) => r.ok && r.external_id),
    [a, false, c],
  );
  assert.match(!rs[1]!.ok ? rs[1]!.message : '', /no HubSpot contact with email/);
  assert.equal(crm.requests - before, 2, 'one batch read, one batch update');
  assert.equal(crm.getContact(a)!.properties.address, '9 Oak St');
  assert.equal(crm.getContact(c)!.properties.address, '9 Oak St');
});

test('a contact that already holds the delivery point (another spelling) is not rewritten', async () => {
  const same = crm.createContact({
    email: 'same-dp@example.com',
    address: '9 OAK STREET',
    city: 'CHICAGO',
    state: 'IL',
    zip: '60614',
    country: 'US',
  });
  const other = crm.createContact({ email: 'other-dp@example.com', address: '1 Elm St', city: 'Chicago' });
  const connector = createHubSpotConnector({ access_token: crm.token, base_url: crm.url });
  const rs = await connector.outbound!.deliver([
    byEmail('j_same', 'same-dp@example.com'),
    byEmail('j_other', 'other-dp@example.com'),
  ]);
  assert.deepEqual(rs[0], {
    ok: true,
    external_id: same,
    unchanged: { address: '9 OAK STREET', city: 'CHICAGO', state: 'IL', zip: '60614', country: 'US' },
  });
  assert.equal(crm.writes(same), 0);
  assert.equal(rs[1]!.ok && rs[1]!.written?.address, OAK.line1);
  assert.equal(crm.writes(other), 1);
});

test('a failed batch read fails its jobs retryably; the retry reads again and writes', async () => {
  const a = crm.createContact({ email: 'fail-a@example.com', address: '1 Elm St' });
  const b = crm.createContact({ email: 'fail-b@example.com', address: '2 Elm St' });
  const connector = createHubSpotConnector({ access_token: crm.token, base_url: crm.url });
  const jobs = [byEmail('j_fa', 'fail-a@example.com'), byEmail('j_fb', 'fail-b@example.com')];
  crm.faults.set({ server_error_next: 1 });
  const first = await connector.outbound!.deliver(jobs);
  crm.faults.set({});
  assert.deepEqual(kinds(first), ['transient', 'transient']);
  assert.equal(crm.writes(a) + crm.writes(b), 0);
  const before = crm.requests;
  assert.deepEqual(kinds(await connector.outbound!.deliver(jobs)), ['ok', 'ok']);
  assert.equal(crm.requests - before, 2, 'nothing was kept from the failed read: read, then write');
  assert.equal(crm.writes(a) + crm.writes(b), 2);
});

test('jobs with a crosswalk id skip the read; more than 100 e-mails are read 100 a call', async () => {
  const known = crm.createContact({ email: 'known@example.com', address: '1 Elm St' });
  const emails = Array.from({ length: 130 }, (_, i) => `many${i}@example.com`);
  const ids = emails.map((email) => crm.createContact({ email, address: '1 Elm St' }));
  const connector = createHubSpotConnector({ access_token: crm.token, base_url: crm.url });
  const before = crm.requests;
  const rs = await connector.outbound!.deliver([
    byEmail('j_known', 'not-read@example.com', known),
    ...emails.map((e, i) => byEmail(`j_many${i}`, e)),
  ]);
  assert.equal(rs.filter((r) => r.ok).length, 131);
  assert.deepEqual(
    rs.map((r) => r.ok && r.external_id),
    [known, ...ids],
  );
  // 130 e-mails: two batch reads; 131 writes: two batch updates.
  assert.equal(crm.requests - before, 4);
});

test('an e-mail a 200 batch read leaves out is not_found; one in another per-input error is retried', async () => {
  // HubSpot may answer without the missing inputs and without errors: a stand-in that does, and
  // that answers 207 with a non-OBJECT_NOT_FOUND error for one e-mail.
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(`${req.method} ${req.url}`);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const contact = { id: '77', createdAt: T, updatedAt: T, archived: false };
      const bad = Buffer.concat(chunks).toString().includes('bad@x.io');
      const errors = [{ status: 'error', category: 'VALIDATION_ERROR', message: 'no', context: { ids: ['bad@x.io'] } }];
      const body = req.url!.endsWith('/batch/read')
        ? {
            status: 'COMPLETE',
            startedAt: T,
            completedAt: T,
            results: [{ ...contact, properties: { email: 'HERE@x.io' } }],
            ...(bad ? { numErrors: 1, errors } : {}),
          }
        : { ...contact, properties: { address: '9 Oak St' } };
      res.writeHead(bad ? 207 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const connector = createHubSpotConnector({ access_token: 'tok', base_url: url });
    const rs = await connector.outbound!.deliver([byEmail('j_gone', 'gone@x.io'), byEmail('j_here', 'here@x.io')]);
    assert.deepEqual(kinds(rs), ['not_found', 'ok']);
    assert.deepEqual(paths, ['POST /crm/v3/objects/contacts/batch/read', 'PATCH /crm/v3/objects/contacts/77']);
    const mixed = await connector.outbound!.deliver([byEmail('j_bad', 'bad@x.io'), byEmail('j_here2', 'here@x.io')]);
    assert.deepEqual(kinds(mixed), ['unknown', 'ok']);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
const T = '2026-01-01T00:00:00.000Z';
