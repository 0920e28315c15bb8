import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHubSpotConnector } from '../src/connectors/hubspot/index.ts';
import { createSalesforceConnector } from '../src/connectors/salesforce/index.ts';
import type { AddressWritePayload, Connector, OutboundJob } from '../src/canonical/types.ts';
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
    address: { line1: '9 Oak St', line2: 'Apt 2', city: 'Austin', region: 'TX', postal_code: '78701', country: 'US' },
    ...payload,
  },
});
const kinds = (rs: { ok: boolean; kind?: string }[]) => rs.map((r) => (r.ok ? 'ok' : r.kind));

let hs: HubSpotSim;
let sf: SalesforceSim;
let hubspot: Connector;
let salesforce: Connector;
before(async () => {
  hs = await startHubSpotSim();
  sf = await startSalesforceSim();
  hubspot = createHubSpotConnector({ access_token: hs.token, base_url: hs.url });
  salesforce = createSalesforceConnector({
    instance_url: sf.url,
    access_token: sf.token,
    api_version: '62.0',
    client_id: 'hearth',
  });
});
after(async () => {
  await hs.close();
  await sf.close();
});

test('HubSpot: the official SDK finds contacts by email and batch-updates the standard fields', async () => {
  const a = hs.createContact({ email: 'a@example.com', address: 'old' });
  const b = hs.createContact({ email: 'b@example.com', address: 'old' });
  const results = await hubspot.outbound!.deliver([
    job('j1', { email: 'A@example.com' }),
    job('j2', { external_id: b }),
    job('j3', { email: 'nobody@example.com' }),
  ]);
  assert.deepEqual(kinds(results), ['ok', 'ok', 'not_found']);
  assert.equal(hs.getContact(a)!.properties.address, '9 Oak St Apt 2');
  assert.equal(hs.getContact(b)!.properties.zip, '78701');
});

test('HubSpot faults: 429 (ten-secondly body), 503, dropped connection, wrong token, slow but fine', async () => {
  const id = hs.createContact({ email: 'c@example.com' });
  hs.faults.set({ rate_limit_next: 1 });
  const [limited] = await hubspot.outbound!.deliver([job('j', { external_id: id })]);
  assert.deepEqual(
    [limited!.ok, !limited!.ok && limited!.kind, !limited!.ok && limited!.retry_after_ms],
    [false, 'rate_limited', 1000],
  );
  hs.faults.set({ server_error_next: 1 });
  assert.deepEqual(kinds(await hubspot.outbound!.deliver([job('j', { external_id: id })])), ['transient']);
  hs.faults.set({ drop_next: 1 });
  assert.deepEqual(kinds(await hubspot.outbound!.deliver([job('j', { external_id: id })])), ['transient']);
  hs.faults.set({ slow_ms: 50 });
  assert.deepEqual(kinds(await hubspot.outbound!.deliver([job('j', { external_id: id })])), ['ok']);
  hs.faults.set({});
  const wrong = createHubSpotConnector({ access_token: 'nope', base_url: hs.url });
  assert.deepEqual(kinds(await wrong.outbound!.deliver([job('j', { external_id: id })])), ['auth']);
});

test('Salesforce: jsforce SOQL by email and sObject Collections update; limit, 503, auth, deleted', async () => {
  const id = sf.createContact({ Email: 'd@example.com' });
  assert.deepEqual(
    kinds(
      await salesforce.outbound!.deliver([
        job('j1', { email: 'd@example.com' }),
        job('j2', { email: 'none@example.com' }),
      ]),
    ),
    ['ok', 'not_found'],
  );
  assert.equal(sf.getContact(id)!.MailingStreet, '9 Oak St\nApt 2');
  sf.faults.set({ rate_limit_next: 1 });
  assert.deepEqual(kinds(await salesforce.outbound!.deliver([job('j', { external_id: id })])), ['rate_limited']);
  sf.faults.set({ server_error_next: 1 });
  assert.deepEqual(kinds(await salesforce.outbound!.deliver([job('j', { external_id: id })])), ['transient']);
  sf.faults.set({});
  assert.deepEqual(kinds(await salesforce.outbound!.deliver([job('j', { external_id: '0035g00000zzzzzAAA' })])), [
    'not_found',
  ]);
  const wrong = createSalesforceConnector({
    instance_url: sf.url,
    access_token: 'nope',
    api_version: '62.0',
    client_id: 'hearth',
  });
  assert.deepEqual(kinds(await wrong.outbound!.deliver([job('j', { external_id: id })])), ['auth']);
});
