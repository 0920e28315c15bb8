import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startAuth0Sim, type Auth0Sim } from '../../../sim/idp.ts';
import type { IdentityPushPayload } from '../../canonical/identity-claims.ts';
import type { DeliveryResult } from '../../canonical/types.ts';
import { auth0BaseUrl, createAuth0Connector, type Auth0Config } from './index.ts';

const claims = {
  household_id: 'hh_01',
  hierarchy_role: 'member' as const,
  points_aggregation_opt_in: true,
  tier: 'vip',
};
const job = (id: string, p: Partial<IdentityPushPayload>) => ({
  id,
  kind: 'idp.claims_push',
  attempts: 1,
  payload: { customer_id: `cus_${id}`, external_id: null, email: null, claims, changed_at: 1, ...p },
});
const kinds = (rs: DeliveryResult[]) => rs.map((r) => (r.ok ? 'ok' : r.kind));

let sim: Auth0Sim;
let cfg: Auth0Config;
before(async () => {
  sim = await startAuth0Sim();
  cfg = {
    domain: sim.url,
    client_id: sim.client_id,
    client_secret: sim.client_secret,
    metadata_key: 'household',
    require_verified_email: true,
    missing_user: 'skip',
  };
});
after(() => sim.close());

test('finds users by e-mail and writes app_metadata.household, keeping other metadata', async () => {
  const id = sim.addUser('ann@example.com');
  sim.getUser(id)!.app_metadata.plan = 'pro';
  const [r] = await createAuth0Connector(cfg).outbound!.deliver([job('a', { email: 'ann@example.com' })]);
  assert.equal(r!.ok && r!.external_id, id);
  assert.deepEqual(sim.getUser(id)!.app_metadata, {
    plan: 'pro',
    household: { household_id: 'hh_01', hierarchy_role: 'member', points_aggregation_opt_in: true, tier: 'vip' },
  });
});

test('the household object is replaced whole: leaving a household clears its fields', async () => {
  const id = sim.addUser('bob@example.com');
  const c = createAuth0Connector(cfg);
  await c.outbound!.deliver([job('b', { external_id: id })]);
  await c.outbound!.deliver([
    job('c', {
      external_id: id,
      claims: { household_id: null, hierarchy_role: null, points_aggregation_opt_in: false, tier: 'basic' },
    }),
  ]);
  assert.deepEqual(sim.getUser(id)!.app_metadata.household, {
    household_id: null,
    hierarchy_role: null,
    points_aggregation_opt_in: false,
    tier: 'basic',
  });
});

test('every login with the e-mail gets the claims (database and social), the first is learned', async () => {
  const db = sim.addUser('cy@example.com');
  const social = sim.addUser('cy@example.com', 'google-oauth2');
  const [r] = await createAuth0Connector(cfg).outbound!.deliver([job('d', { email: 'cy@example.com' })]);
  assert.equal(r!.ok && r!.external_id, db);
  assert.equal((sim.getUser(social)!.app_metadata.household as { household_id: string }).household_id, 'hh_01');
});

test('the client-credentials token is cached, and fetched again after a 401', async () => {
  const id = sim.addUser('dee@example.com');
  const c = createAuth0Connector(cfg);
  const before = sim.tokensIssued;
  await c.outbound!.deliver([job('e', { external_id: id }), job('f', { external_id: id })]);
  await c.outbound!.deliver([job('g', { external_id: id })]);
  assert.equal(sim.tokensIssued - before, 1);
  sim.revokeTokens();
  assert.deepEqual(kinds(await c.outbound!.deliver([job('h', { external_id: id })])), ['ok']);
  assert.equal(sim.tokensIssued - before, 2);
});

test('429 is rate_limited with the wait Auth0 asks for; 5xx is transient; bad credentials are auth', async () => {
  const id = sim.addUser('eve@example.com');
  const c = createAuth0Connector(cfg);
  await c.outbound!.deliver([job('i', { external_id: id })]);
  sim.faults.set({ rate_limit_next: 1, retry_after_s: 2 });
  const [r] = await c.outbound!.deliver([job('j', { external_id: id })]);
  assert.equal(r!.ok ? 'ok' : r!.kind, 'rate_limited');
  assert.ok(!r!.ok && r!.retry_after_ms !== undefined && r!.retry_after_ms >= 1000 && r!.retry_after_ms <= 3000);
  sim.faults.set({ server_error_next: 1 });
  assert.deepEqual(kinds(await c.outbound!.deliver([job('k', { external_id: id })])), ['transient']);
  sim.faults.set({});
  const [bad] = await createAuth0Connector({ ...cfg, client_secret: 'nope-secret' }).outbound!.deliver([
    job('l', { external_id: id }),
  ]);
  assert.equal(bad!.ok ? 'ok' : bad!.kind, 'auth');
  assert.doesNotMatch(bad!.ok ? '' : bad!.message, /nope-secret/);
});

test('a deleted user: found again by e-mail if there is one, else not_found', async () => {
  const old = sim.addUser('fay@example.com');
  sim.deleteUser(old);
  const fresh = sim.addUser('fay@example.com');
  const strict = createAuth0Connector({ ...cfg, missing_user: 'fail' });
  const [r] = await strict.outbound!.deliver([job('m', { external_id: old, email: 'fay@example.com' })]);
  assert.equal(r!.ok && r!.external_id, fresh);
  sim.deleteUser(fresh);
  assert.deepEqual(
    kinds(await strict.outbound!.deliver([job('n', { external_id: fresh, email: 'fay@example.com' })])),
    ['not_found'],
  );
});

test('a login whose e-mail is not verified gets nothing (unless require_verified_email is off)', async () => {
  const id = sim.addUser('gil@example.com', 'Username-Password-Authentication', false);
  assert.deepEqual(await createAuth0Connector(cfg).outbound!.deliver([job('o', { email: 'gil@example.com' })]), [
    { ok: true },
  ]);
  assert.equal(sim.getUser(id)!.app_metadata.household, undefined);
  const [r] = await createAuth0Connector({ ...cfg, require_verified_email: false }).outbound!.deliver([
    job('p', { email: 'gil@example.com' }),
  ]);
  assert.equal(r!.ok && r!.external_id, id);
});

test('a bare tenant domain means https', () => {
  assert.equal(auth0BaseUrl('shop.eu.auth0.com'), 'https://shop.eu.auth0.com');
  assert.equal(auth0BaseUrl('http://127.0.0.1:9/'), 'http://127.0.0.1:9');
});
