import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
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
