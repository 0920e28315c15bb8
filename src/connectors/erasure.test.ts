import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startHubSpotSim, type HubSpotSim } from '../../sim/hubspot.ts';
import { startAuth0Sim, startKeycloakSim, type Auth0Sim, type KeycloakSim } from '../../sim/idp.ts';
import { startSalesforceSim, type SalesforceSim } from '../../sim/salesforce.ts';
import { startStripeSim, type StripeSim } from '../../sim/stripe.ts';
import { startZendeskSim, type ZendeskSim } from '../../sim/zendesk.ts';
import { ERASURE_KIND, type ErasurePayload } from '../canonical/erasure.ts';
import type { OutboundJob } from '../canonical/types.ts';
import { createLogger } from '../log.ts';
import type { ConnectorDescriptor } from './connector.ts';
import type { Eraser } from './erasure.ts';
import { auth0Connector } from './auth0/descriptor.ts';
import { hubspotConnector } from './hubspot/descriptor.ts';
import { keycloakConnector } from './keycloak/descriptor.ts';
import { buildConnectors, CONNECTORS, erasableSystems, jobTargets } from './registry.ts';
import { salesforceConnector } from './salesforce/descriptor.ts';
import { stripeConnector } from './stripe/descriptor.ts';
import { zendeskConnector } from './zendesk/descriptor.ts';

const deps = { logger: createLogger('silent') };
let seq = 0;
const job = (external_ids: string[], email: string | null = null): OutboundJob<ErasurePayload> => ({
  id: `job_${seq++}`,
  kind: ERASURE_KIND,
  attempts: 1,
  payload: { erasure_id: 'ers_1', customer_id: 'cus_1', external_ids, email },
});
function eraserOf<C>(d: ConnectorDescriptor<string, C>, raw: unknown): Eraser {
  return d.erase!(d.config.parse(raw), deps);
}

let hubspot: HubSpotSim;
let salesforce: SalesforceSim;
let stripe: StripeSim;
let zendesk: ZendeskSim;
let auth0: Auth0Sim;
let keycloak: KeycloakSim;
before(async () => {
  [hubspot, salesforce, stripe, zendesk, auth0, keycloak] = await Promise.all([
    startHubSpotSim(),
    startSalesforceSim(),
    startStripeSim(),
    startZendeskSim(),
    startAuth0Sim(),
    startKeycloakSim(),
  ]);
});
after(() => Promise.all([hubspot, salesforce, stripe, zendesk, auth0, keycloak].map((s) => s.close())));

test('the shipped erasers: which systems can erase, and their jobs reach them by name', () => {
  assert.deepEqual(
    CONNECTORS.filter((d) => d.erase).map((d) => d.name),
    ['hubspot', 'salesforce', 'scim', 'auth0', 'keycloak', 'stripe', 'zendesk'],
  );
  const cfg = { scim: { base_url: 'http://127.0.0.1:9/scim', access_token: 't' }, webhook: null };
  assert.deepEqual(erasableSystems(CONNECTORS, cfg), [{ system: 'scim', target: 'scim' }]);
  const hub = { hubspot: hubspotConnector.config.parse({ access_token: 't' }) };
  // HubSpot configured but neither write-back CRM nor household source: still a target, for erasures.
  assert.deepEqual(jobTargets(CONNECTORS, { connectors: hub, writeback: { crm: null }, households: null }), [
    'hubspot',
  ]);
  const live = buildConnectors(CONNECTORS, hub, deps);
  assert.ok(live.hubspot?.outbound?.kinds.includes(ERASURE_KIND));
  assert.ok(live.hubspot?.outbound?.kinds.includes('crm.address_write'), 'its other kinds still deliver');
});

test('HubSpot: GDPR delete by id, by e-mail without one; gone counts as erased; a refusal is reported', async () => {
  const erase = eraserOf(hubspotConnector, { access_token: hubspot.token, base_url: hubspot.url });
  const a = hubspot.createContact({ email: 'a@example.com' });
  hubspot.createContact({ email: 'b@example.com' });
  const r = await erase([job([a]), job([], 'b@example.com'), job(['404040'])]);
  assert.deepEqual(r, [{ ok: true }, { ok: true }, { ok: true }]);
  assert.equal(hubspot.listContacts().length, 0);
  hubspot.faults.set({ reject_delete: { status: 400, message: 'legal hold' } });
  const c = hubspot.createContact({ email: 'c@example.com' });
  const [refused] = await erase([job([c])]);
  assert.equal(refused!.ok, false);
  assert.match((refused as { message: string }).message, /400.*legal hold/);
  hubspot.faults.set({});
});

test('Salesforce: the Contact is deleted by id, or found by e-mail', async () => {
  const erase = eraserOf(salesforceConnector, { instance_url: salesforce.url, access_token: salesforce.token });
  const a = salesforce.createContact({ Email: 'a@example.com', LastName: 'A' });
  const b = salesforce.createContact({ Email: 'b@example.com', LastName: 'B' });
  assert.deepEqual(await erase([job([a]), job([], 'b@example.com')]), [{ ok: true }, { ok: true }]);
  assert.equal(salesforce.getContact(a), undefined);
  assert.equal(salesforce.getContact(b), undefined);
});

test('Stripe: the customer is deleted by id, or the customers with the e-mail', async () => {
  const erase = eraserOf(stripeConnector, { api_key: stripe.apiKey, webhook_secret: 'whsec_x', base_url: stripe.url });
  const a = stripe.createCustomer({ email: 'a@example.com' });
  const b = stripe.createCustomer({ email: 'b@example.com' });
  assert.deepEqual(await erase([job([a.id]), job([], 'b@example.com')]), [{ ok: true }, { ok: true }]);
  assert.equal(stripe.customers.has(a.id), false);
  assert.equal(stripe.customers.has(b.id), false);
  stripe.faults.set({ reject_delete: { status: 400, message: 'customer has an open dispute' } });
  const c = stripe.createCustomer({ email: 'c@example.com' });
  const [refused] = await erase([job([c.id])]);
  assert.deepEqual([refused!.ok, (refused as { kind: string }).kind], [false, 'invalid']);
  stripe.faults.set({});
});

test('Zendesk: soft delete then permanent delete; found by e-mail without an id', async () => {
  const erase = eraserOf(zendeskConnector, {
    base_url: zendesk.url,
    email: zendesk.email,
    api_token: zendesk.token,
    webhook_secret: 'zd-secret-123',
  });
  const user = (id: number, email: string) => ({
    id,
    name: 'X',
    email,
    phone: null,
    external_id: null,
    role: 'end-user' as const,
    user_fields: {},
    created_at: '',
    updated_at: '',
  });
  zendesk.users.set(7001, user(7001, 'a@example.com'));
  zendesk.users.set(7002, user(7002, 'b@example.com'));
  assert.deepEqual(await erase([job(['7001']), job([], 'b@example.com')]), [{ ok: true }, { ok: true }]);
  assert.equal(zendesk.users.size, 0);
});

test('Zendesk via node-zendesk: erased before is erased; refusal, 429 and network failure reported', async () => {
  const cfg = {
    base_url: zendesk.url,
    email: zendesk.email,
    api_token: zendesk.token,
    webhook_secret: 'zd-secret-123',
  };
  const erase = eraserOf(zendeskConnector, cfg);
  const user = (id: number) => ({
    id,
    name: 'X',
    email: `u${id}@example.com`,
    phone: null,
    external_id: null,
    role: 'end-user' as const,
    user_fields: {},
    created_at: '',
    updated_at: '',
  });
  zendesk.users.set(7101, user(7101));
  assert.deepEqual(await erase([job(['7101'])]), [{ ok: true }]);
  // Erased before (both deletes answer 404): gone counts as erased.
  assert.deepEqual(await erase([job(['7101'])]), [{ ok: true }]);
  zendesk.users.set(7102, user(7102));
  zendesk.faults.set({ reject_delete: { status: 422, message: 'agents cannot be deleted' } });
  const [refused] = await erase([job(['7102'])]);
  assert.deepEqual([refused!.ok, (refused as { kind: string }).kind], [false, 'invalid']);
  assert.match((refused as { message: string }).message, /DELETE \/users\/7102\.json: 422 .*agents cannot be deleted/);
  zendesk.faults.set({ rate_limit_next: 1, retry_after_s: 7 });
  const [limited] = await erase([job([], 'u7102@example.com')]);
  assert.equal(limited!.ok, false);
  assert.equal((limited as { retry_after_ms?: number }).retry_after_ms, 7000, 'Retry-After kept from the search');
  zendesk.faults.set({});
  assert.deepEqual(await erase([job([], 'u7102@example.com')]), [{ ok: true }]);
  assert.equal(zendesk.users.has(7102), false);
  const offline = eraserOf(zendeskConnector, { ...cfg, base_url: 'http://127.0.0.1:9' });
  const [down] = await offline([job(['1'])]);
  assert.deepEqual([down!.ok, (down as { kind: string }).kind], [false, 'transient']);
});

test('Auth0 and Keycloak: the users with the e-mail are deleted', async () => {
  const a0 = eraserOf(auth0Connector, {
    domain: auth0.url,
    client_id: auth0.client_id,
    client_secret: auth0.client_secret,
  });
  const id = auth0.addUser('a@example.com');
  assert.deepEqual(await a0([job([], 'a@example.com')]), [{ ok: true }]);
  assert.equal(auth0.getUser(id), undefined);
  const kc = eraserOf(keycloakConnector, {
    base_url: keycloak.url,
    realm: keycloak.realm,
    client_id: keycloak.client_id,
    client_secret: keycloak.client_secret,
  });
  const k = keycloak.addUser('k@example.com');
  assert.deepEqual(await kc([job([k])]), [{ ok: true }]);
  assert.equal(keycloak.getUser(k), undefined);
});
