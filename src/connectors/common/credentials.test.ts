import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startHubSpotSim, type HubSpotSim } from '../../../sim/hubspot.ts';
import { startSalesforceSim, type SalesforceSim } from '../../../sim/salesforce.ts';
import { startZohoSim, type ZohoSim } from '../../../sim/zoho.ts';
import type { OutboundJob } from '../../canonical/types.ts';
import { createLogger } from '../../log.ts';
import { describeEachDialect } from '../../../test-support/dialects.ts';
import { enqueueJobs, listJobs } from '../../engine/jobs.ts';
import { deliverDueJobs } from '../../engine/deliver.ts';
import { createHubSpotConnector } from '../hubspot/index.ts';
import { createSalesforceConnector } from '../salesforce/index.ts';
import { createZohoConnector, zohoAccountsUrl } from '../zoho/index.ts';
import { createCredential, issuedToken } from './credentials.ts';

const GRANT = { client_id: 'app-1', client_secret: 'shh-secret', refresh_token: 'rt-original' };

const optIn = (id: string, external_id: string): OutboundJob => ({
  id,
  kind: 'crm.opt_in_write',
  payload: {
    customer_id: 'cus_1',
    external_id,
    property: 'points_aggregation_opt_in',
    opt_in: true,
  },
  attempts: 1,
});

describe('renewing credentials against the simulators', () => {
  let hub: HubSpotSim;
  let sf: SalesforceSim;
  let zoho: ZohoSim;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  before(async () => {
    hub = await startHubSpotSim({ oauth: { ...GRANT, ttl_s: 1800 } });
    sf = await startSalesforceSim({
      oauth: { ...GRANT, jwt_public_key: publicKey.export({ type: 'spki', format: 'pem' }).toString() },
    });
    zoho = await startZohoSim({ oauth: { ...GRANT, ttl_s: 3600 } });
  });
  after(async () => {
    await Promise.all([hub.close(), sf.close(), zoho.close()]);
  });

  test('HubSpot OAuth app: concurrent calls share one grant; a refused token is renewed once and retried', async () => {
    const id = hub.createContact({ email: 'ann@example.com', firstname: 'Ann' });
    const c = createHubSpotConnector({ base_url: hub.url, oauth: GRANT });
    const before = hub.oauth!.grants;
    const pages = await Promise.all([1, 2, 3].map(() => c.source!.listContacts(null, { limit: 10 })));
    assert.ok(pages.every((p) => p.records.some((r) => r.external_id === id)));
    assert.equal(hub.oauth!.grants - before, 1, 'one token request for three concurrent calls');
    hub.oauth!.expireAll();
    const [r] = await c.outbound!.deliver([optIn('job_1', id)]);
    assert.equal(r?.ok, true);
    assert.equal(hub.oauth!.grants - before, 2, 'the 401 renewed the token once');
    assert.equal(c.auth!.status().state, 'ok');
  });

  test('a token is renewed before it expires, without a refused call', async () => {
    let clock = Date.now();
    const c = createHubSpotConnector({ base_url: hub.url, oauth: GRANT }, { now: () => clock });
    await c.source!.listContacts(null, { limit: 1 });
    const grants = hub.oauth!.grants;
    const expiresAt = c.auth!.status().expires_at!;
    clock = expiresAt - 60_000; // inside the five-minute window
    await c.source!.listContacts(null, { limit: 1 });
    assert.equal(hub.oauth!.grants, grants + 1);
    assert.ok(c.auth!.status().expires_at! > expiresAt);
  });

  test('a revoked grant puts the connector in needs_reauth: jobs fail as auth and the job loop pauses', async () => {
    const sim = await startHubSpotSim({ oauth: { ...GRANT } });
    try {
      const id = sim.createContact({ email: 'bo@example.com' });
      const lines: string[] = [];
      const logger = createLogger('info', { write: (s: string) => void lines.push(s) });
      const c = createHubSpotConnector({ base_url: sim.url, oauth: GRANT }, { logger });
      assert.equal((await c.outbound!.deliver([optIn('job_2', id)]))[0]?.ok, true);
      sim.oauth!.revoke();
      const [r] = await c.outbound!.deliver([optIn('job_3', id)]);
      assert.equal(r?.ok, false);
      assert.equal(r && !r.ok && r.kind, 'auth');
      assert.equal(c.auth!.status().state, 'needs_reauth');
      assert.match(c.auth!.status().error!, /invalid_grant/);
      assert.equal(c.outbound!.ready!(), false);
      const all = lines.join('');
      assert.match(all, /needs re-authorisation/);
      assert.doesNotMatch(all, /sim-at-|rt-original|shh-secret/, 'no token or secret in the log');
    } finally {
      await sim.close();
    }
  });

  test('a private-app token keeps working; a refused one is reported as rejected', async () => {
    const id = hub.createContact({ email: 'cy@example.com' });
    const ok = createHubSpotConnector({ base_url: hub.url, access_token: hub.token });
    assert.equal((await ok.outbound!.deliver([optIn('job_4', id)]))[0]?.ok, true);
    assert.equal(ok.auth!.status().state, 'ok');
    assert.equal(ok.auth!.status().renewable, false);
    const bad = createHubSpotConnector({ base_url: hub.url, access_token: 'pat-wrong' });
    const [r] = await bad.outbound!.deliver([optIn('job_5', id)]);
    assert.equal(r && !r.ok && r.kind, 'auth');
    assert.equal(bad.auth!.status().state, 'rejected');
    assert.equal(bad.outbound!.ready!(), true, 'a fixed token is retried as usual (it may be fixed upstream)');
  });

  test('Salesforce: refresh-token grant on the first refused session, and the JWT bearer flow', async () => {
    const id = sf.createContact({ FirstName: 'Di', LastName: 'Ng', Email: 'di@example.com' });
    const base = { instance_url: sf.url, login_url: sf.url, api_version: '62.0', client_id: 'hearth' };
    const viaRefresh = createSalesforceConnector({ ...base, oauth: GRANT });
    const page = await viaRefresh.source!.listContacts(null, { limit: 10 });
    assert.ok(page.records.some((r) => r.external_id === id));
    assert.equal(viaRefresh.auth!.status().state, 'ok');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const viaJwt = createSalesforceConnector({
      ...base,
      jwt: { client_id: GRANT.client_id, username: 'integration@example.com', private_key: pem },
    });
    const grants = sf.oauth!.grants;
    assert.ok((await viaJwt.source!.listContacts(null, { limit: 10 })).records.length > 0);
    assert.equal(sf.oauth!.grants, grants + 1);
    sf.oauth!.expireAll();
    assert.ok((await viaJwt.source!.listContacts(null, { limit: 10 })).records.length > 0);
    assert.equal(sf.oauth!.grants, grants + 2, 'jsforce asked the credential for a new session on the 401');
  });

  test('Zoho: the refresh grant at the data centre accounts server', async () => {
    zoho.createContact({ First_Name: 'Ed', Last_Name: 'Ro', Email: 'ed@example.com' });
    const c = createZohoConnector({
      base_url: zoho.url,
      oauth: GRANT,
      household_account_type: 'Household',
      primary_contact_field: 'Primary_Contact',
    });
    assert.ok((await c.source!.listContacts(null, { limit: 10 })).records.length > 0);
    assert.equal(zoho.oauth!.grants, 1);
    assert.equal(c.auth!.status().renewable, true);
  });
});

test('Zoho accounts server per data centre', () => {
  assert.equal(zohoAccountsUrl({ base_url: 'https://www.zohoapis.eu' }), 'https://accounts.zoho.eu');
  assert.equal(zohoAccountsUrl({ base_url: 'https://www.zohoapis.com.au' }), 'https://accounts.zoho.com.au');
  assert.equal(zohoAccountsUrl({ base_url: 'http://127.0.0.1:9/x' }), 'http://127.0.0.1:9');
  assert.equal(
    zohoAccountsUrl({ base_url: 'https://www.zohoapis.com', accounts_url: 'https://accounts.zoho.in/' }),
    'https://accounts.zoho.in',
  );
});

test('token responses: Zoho answers 200 with an error on a bad grant; 5xx is transient', () => {
  assert.throws(
    () => issuedToken(200, { error: 'invalid_code' }, Date.now),
    (e: any) => e.details.kind === 'auth',
  );
  assert.throws(
    () => issuedToken(503, {}, Date.now),
    (e: any) => e.details.kind === 'transient',
  );
  assert.equal(issuedToken(200, { access_token: 't', expires_in: 10 }, () => 0).expires_at, 10_000);
});

test('an unreachable token endpoint is transient and leaves the connector usable', async () => {
  const cred = createCredential(
    { kind: 'refresh_token', token_url: 'http://127.0.0.1:9/token', grant: GRANT },
    { connector: 'x', fetch: async () => Promise.reject(new Error('connect ECONNREFUSED')) },
  );
  await assert.rejects(cred.token(), (e: any) => e.details.kind === 'transient');
  assert.equal(cred.usable(), true);
});

describeEachDialect('a connector that needs re-authorisation', (ctx) => {
  test('leaves its jobs waiting (not claimed, attempts untouched, not dead-lettered)', async () => {
    const sim = await startHubSpotSim({ oauth: { ...GRANT } });
    try {
      const { db } = ctx.hdb();
      const id = sim.createContact({ email: 'fay@example.com' });
      const c = createHubSpotConnector({ base_url: sim.url, oauth: GRANT });
      sim.oauth!.revoke();
      await assert.rejects(c.source!.listContacts(null, { limit: 1 }));
      assert.equal(c.auth!.status().state, 'needs_reauth');
      const job = { target: 'hubspot', kind: 'crm.opt_in_write', job_key: id, origin_at: 0 };
      const payload = { customer_id: 'cus_9', external_id: id, property: 'p', opt_in: true };
      await enqueueJobs(db, [{ ...job, payload, supersedes_pending: false }], 5, Date.now());
      const opts = {
        worker_id: 'w',
        lease_ms: 60_000,
        batch: 10,
        retry: { max_attempts: 5, base_delay_ms: 1, max_delay_ms: 1 },
        now: Date.now,
        random: Math.random,
      };
      assert.equal(await deliverDueJobs(ctx.hdb(), c, 'hubspot', opts), 0);
      const [row] = await listJobs(db, { target: 'hubspot', limit: 10 });
      assert.equal(row?.status, 'pending');
      assert.equal(row?.attempts, 0);
    } finally {
      await sim.close();
    }
  });
});
