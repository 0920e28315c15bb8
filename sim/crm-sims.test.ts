import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@hubspot/api-client';
import { createHubSpotConnector } from '../src/connectors/hubspot/index.ts';
import { createSalesforceConnector } from '../src/connectors/salesforce/index.ts';
import type { AddressWritePayload, Connector, InboundEvent, OutboundJob } from '../src/canonical/types.ts';
import { startHubSpotSim, type HubSpotSim } from './hubspot.ts';
import { startSalesforceSim, type SalesforceSim } from './salesforce.ts';

const job = (id: string, payload: Partial<AddressWritePayload>): OutboundJob<AddressWritePayload> => ({
  id,
  kind: 'crm.address_write',
  attempts: 1,
  payload: {
    customer_id: 'cus_1',
    external_id: null,
    email: null,
    corrected_at: 0,
    address: {
      line1: '123 Main St',
      line2: 'Apt 4B',
      city: 'Springfield',
      region: 'IL',
      postal_code: '62701',
      country: 'US',
    },
    ...payload,
  },
});
const kinds = (rs: { ok: boolean; kind?: string }[]) => rs.map((r) => (r.ok ? 'ok' : r.kind));

/** A stand-in for Hearth's webhook route: verifies and parses with the connector's ingress, keeps what arrives. */
async function startInbox(connector: () => Connector) {
  const got: { verified: boolean; events: InboundEvent[] }[] = [];
  const waiters: (() => void)[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = {
        rawBody: Buffer.concat(chunks),
        headers: req.headers as Record<string, string>,
        method: req.method ?? 'POST',
        url: `${url}${req.url === '/' ? '' : req.url}`,
        now: Date.now(),
      };
      const ingress = connector().ingress!;
      const verified = ingress.verify(r).ok;
      got.push({ verified, events: verified ? ingress.parse(r) : [] });
      res.writeHead(200).end();
      waiters.splice(0).forEach((w) => w());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const until = async (n: number) => {
    while (got.length < n) await new Promise<void>((r) => waiters.push(r));
  };
  return {
    url,
    got,
    until,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let hs: HubSpotSim;
let hubspot: Connector;
let hsInbox: Awaited<ReturnType<typeof startInbox>>;
let sf: SalesforceSim;
let salesforce: Connector;
let sfInbox: Awaited<ReturnType<typeof startInbox>>;
before(async () => {
  hsInbox = await startInbox(() => hubspot);
  hs = await startHubSpotSim({ webhook: { url: hsInbox.url, client_secret: 'hs-secret', app_id: '424242' } });
  hubspot = createHubSpotConnector({
    access_token: hs.token,
    base_url: hs.url,
    client_secret: 'hs-secret',
    app_id: '424242',
  });
  sfInbox = await startInbox(() => salesforce);
  sf = await startSalesforceSim({ cdc: { url: sfInbox.url, secret: 'cdc-relay-secret' } });
  salesforce = createSalesforceConnector({
    instance_url: sf.url,
    access_token: sf.token,
    api_version: '62.0',
    client_id: 'hearth',
    cdc_secret: 'cdc-relay-secret',
  });
});
after(async () => {
  await Promise.all([hs.close(), sf.close(), hsInbox.close(), sfInbox.close()]);
});

test('HubSpot: one job is a PATCH found by batch read on email; line 2 folded into address', async () => {
  const id = hs.createContact({ email: 'ana@example.com', address: '1 Old Rd' });
  const [r] = await hubspot.outbound!.deliver([job('j', { email: 'ANA@example.com' })]);
  assert.deepEqual(r, {
    ok: true,
    external_id: id,
    written: { address: '123 Main St Apt 4B', city: 'Springfield', state: 'IL', zip: '62701', country: 'US' },
  });
  assert.equal(hs.writes(id), 1);
  assert.deepEqual(hs.history(id)[0]!.properties, r!.ok ? r!.written : {});
});

test('HubSpot: several jobs go in one batch update; a missing id fails alone (207)', async () => {
  const a = hs.createContact({ email: 'b1@example.com' });
  const b = hs.createContact({ email: 'b2@example.com' });
  const before = hs.requests;
  const rs = await hubspot.outbound!.deliver([
    job('1', { external_id: a }),
    job('2', { external_id: '999999' }),
    job('3', { external_id: b, address: { line1: '9 Oak St' } }),
  ]);
  assert.deepEqual(kinds(rs), ['ok', 'not_found', 'ok']);
  assert.equal(hs.requests - before, 1, 'one batch call');
  assert.equal(hs.getContact(b)!.properties.address, '9 Oak St');
  assert.equal(hs.getContact(b)!.properties.city, '');
});

test('HubSpot: single PATCH to an unknown id is not_found; a read-only property is invalid', async () => {
  assert.deepEqual(kinds(await hubspot.outbound!.deliver([job('j', { external_id: '888888' })])), ['not_found']);
  const client = new Client({ accessToken: hs.token, basePath: hs.url, numberOfApiCallRetries: 0 });
  const id = hs.createContact({ email: 'ro@example.com' });
  const err = await client.crm.contacts.basicApi
    .update(id, { properties: { hs_object_id: '1' } })
    .catch((e: unknown) => e);
  assert.equal((err as { code: number }).code, 400);
  assert.equal((err as { body: { category: string } }).body.category, 'VALIDATION_ERROR');
});

test('HubSpot sim: list paging and search paging through the SDK', async () => {
  const client = new Client({ accessToken: hs.token, basePath: hs.url, numberOfApiCallRetries: 0 });
  for (let i = 0; i < 5; i++) hs.createContact({ email: `page${i}@example.com`, lifecyclestage: 'pager' });
  const page1 = await client.crm.contacts.basicApi.getPage(2, undefined, ['email']);
  assert.equal(page1.results.length, 2);
  const page2 = await client.crm.contacts.basicApi.getPage(2, page1.paging!.next!.after, ['email']);
  assert.notEqual(page2.results[0]!.id, page1.results[0]!.id);
  const all = await client.crm.contacts.getAll(undefined, undefined, ['email']);
  assert.equal(all.length, hs.listContacts().length);
  const found = await client.crm.contacts.searchApi.doSearch({
    filterGroups: [{ filters: [{ propertyName: 'lifecyclestage', operator: 'EQ' as never, value: 'pager' }] }],
    limit: 3,
    after: '0',
    sorts: [],
    properties: ['email'],
  });
  assert.equal(found.total, 5);
  assert.equal(found.results.length, 3);
  assert.equal(found.paging?.next?.after, '3');
});

test('HubSpot sim: contacts batch/read by email (any case) and by id; 207 names the missing ids', async () => {
  const client = new Client({ accessToken: hs.token, basePath: hs.url, numberOfApiCallRetries: 0 });
  const a = hs.createContact({ email: 'Read.One@Example.com', city: 'Austin' });
  const b = hs.createContact({ email: 'read.two@example.com', city: 'Boston' });
  const read = (idProperty: string | undefined, ids: string[]) =>
    client.crm.contacts.batchApi.read({
      ...(idProperty ? { idProperty } : {}),
      inputs: ids.map((id) => ({ id })),
      properties: ['email', 'city'],
      propertiesWithHistory: [],
    });
  const all = await read('email', ['read.one@example.com', 'READ.TWO@example.com']);
  assert.equal(all.status, 'COMPLETE');
  assert.equal('errors' in all ? all.errors : undefined, undefined);
  assert.deepEqual(
    all.results.map((c) => [c.id, c.properties]),
    [
      [a, { email: 'Read.One@Example.com', city: 'Austin' }],
      [b, { email: 'read.two@example.com', city: 'Boston' }],
    ],
  );
  const some = await read('email', ['read.two@example.com', 'nobody@example.com', 'none@example.com']);
  assert.deepEqual(
    some.results.map((c) => c.id),
    [b],
  );
  const errors = 'errors' in some ? some.errors : undefined;
  assert.equal('numErrors' in some && some.numErrors, 1);
  assert.deepEqual(
    errors?.map((e) => [e.status, e.category, e.context]),
    [['error', 'OBJECT_NOT_FOUND', { ids: ['nobody@example.com', 'none@example.com'] }]],
  );
  // Without idProperty (or with hs_object_id) the inputs are record ids.
  for (const idProperty of [undefined, 'hs_object_id']) {
    const byId = await read(idProperty, [a, '999999']);
    assert.deepEqual(
      byId.results.map((c) => c.id),
      [a],
    );
    assert.deepEqual('errors' in byId && byId.errors?.[0]?.context, { ids: ['999999'] });
  }
  const status = (p: Promise<unknown>) =>
    p.then(
      () => 200,
      (e: { code: number }) => e.code,
    );
  assert.equal(await status(read('city', ['Austin'])), 400, 'only a unique property identifies');
  assert.equal(
    await status(
      read(
        'email',
        Array.from({ length: 101 }, (_, i) => `x${i}@example.com`),
      ),
    ),
    400,
  );
  hs.faults.set({ rate_limit_next: 1 });
  assert.equal(await status(read('email', ['read.two@example.com'])), 429, 'faults apply to batch read');
  hs.faults.set({ hang_if_body_includes: 'hang-read@example.com' });
  const hung = hs.hung;
  void read('email', ['hang-read@example.com']).catch(() => undefined);
  while (hs.hung === hung) await new Promise((r) => setTimeout(r, 5));
  hs.faults.set({});
  hs.releaseHung();
});

test(
  'HubSpot faults: 429 without Retry-After falls back ' + 'to the policy window; every n-th request limited',
  async () => {
    const id = hs.createContact({ email: 'f@example.com' });
    hs.faults.set({ rate_limit_next: 1, retry_after_s: null });
    const [r] = await hubspot.outbound!.deliver([job('j', { external_id: id })]);
    assert.deepEqual(r && !r.ok && [r.kind, r.retry_after_ms], ['rate_limited', 10_000]);
    hs.faults.set({ rate_limit_every: 2 });
    const rs = [];
    for (let i = 0; i < 4; i++) rs.push(...(await hubspot.outbound!.deliver([job('j', { external_id: id })])));
    assert.deepEqual(kinds(rs), ['ok', 'rate_limited', 'ok', 'rate_limited']);
    hs.faults.set({});
  },
);

test('HubSpot webhooks: API writes come back signed and marked as ours; UI edits do not', async () => {
  const id = hs.createContact({ email: 'echo@example.com', city: 'Old' });
  const start = hsInbox.got.length;
  await hubspot.outbound!.deliver([job('j', { external_id: id })]);
  await hsInbox.until(start + 1);
  hs.updateFromUi(id, { firstname: 'Ana' });
  await hsInbox.until(start + 2);
  const [api, ui] = hsInbox.got.slice(start);
  assert.ok(api!.verified && ui!.verified, 'v3 signatures verify');
  assert.deepEqual(
    api!.events.map(
      (e) => e.event.type === 'contact.updated' && [Object.keys(e.event.vendor_fields)[0], e.event.origin_is_hearth],
    ),
    [
      ['address', true],
      ['city', true],
      ['state', true],
      ['zip', true],
      ['country', true],
    ],
  );
  const e = ui!.events[0]!.event;
  assert.ok(
    e.type === 'contact.updated' && !e.origin_is_hearth && e.contact.given_name === 'Ana' && e.external_id === id,
  );
  assert.equal(
    new Set(hsInbox.got.flatMap((g) => g.events.map((x) => x.delivery_id))).size,
    hsInbox.got.flatMap((g) => g.events).length,
    'delivery ids unique',
  );
});

test(
  'Salesforce: jsforce writes Mailing* through sObject ' + 'Collections with our client id; CDC echo is marked',
  async () => {
    const a = sf.createContact({ Email: 'lee@example.com', MailingCity: 'Austin' });
    const b = sf.createContact({ Email: 'kim@example.com' });
    const start = sfInbox.got.length;
    const rs = await salesforce.outbound!.deliver([
      job('1', { email: 'LEE@example.com' }),
      job('2', { external_id: b }),
      job('3', { email: 'none@example.com' }),
    ]);
    assert.deepEqual(kinds(rs), ['ok', 'ok', 'not_found']);
    assert.equal(sf.getContact(a)!.MailingStreet, '123 Main St\nApt 4B');
    assert.equal(sf.writes(b), 1);
    await sfInbox.until(start + 2);
    sf.updateFromUi(a, { MailingCity: 'Dallas' });
    await sfInbox.until(start + 3);
    const events = sfInbox.got
      .slice(start)
      .map((g) => [g.verified, g.events[0]!.event.type === 'contact.updated' && g.events[0]!.event.origin_is_hearth]);
    assert.deepEqual(events, [
      [true, true],
      [true, true],
      [true, false],
    ]);
    const ui = sfInbox.got.at(-1)!.events[0]!.event;
    assert.ok(ui.type === 'contact.updated' && ui.contact.address?.city === 'Dallas');
  },
);

test('Salesforce faults: dropped socket and every-n limit map to transient and rate_limited', async () => {
  const id = sf.createContact({ Email: 'drop@example.com' });
  sf.faults.set({ drop_next: 1 });
  assert.deepEqual(kinds(await salesforce.outbound!.deliver([job('j', { external_id: id })])), ['transient']);
  sf.faults.set({ rate_limit_every: 1 });
  const [r] = await salesforce.outbound!.deliver([job('j', { external_id: id })]);
  assert.deepEqual(r && !r.ok && [r.kind, r.retry_after_ms], ['rate_limited', 3_600_000]);
  sf.faults.set({});
});
