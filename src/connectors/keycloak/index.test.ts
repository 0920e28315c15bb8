import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startKeycloakSim, type KeycloakSim } from '../../../sim/idp.ts';
import type { IdentityPushPayload } from '../../canonical/identity-claims.ts';
import type { DeliveryResult } from '../../canonical/types.ts';
import { createKeycloakConnector, mergeAttributes, type KeycloakConfig } from './index.ts';

const claims = { household_id: 'hh_01', hierarchy_role: 'head' as const, points_aggregation_opt_in: false, tier: null };
const job = (id: string, p: Partial<IdentityPushPayload>) => ({
  id,
  kind: 'idp.claims_push',
  attempts: 1,
  payload: { customer_id: `cus_${id}`, external_id: null, email: null, claims, changed_at: 1, ...p },
});
const kinds = (rs: DeliveryResult[]) => rs.map((r) => (r.ok ? 'ok' : r.kind));

let sim: KeycloakSim;
let cfg: KeycloakConfig;
before(async () => {
  sim = await startKeycloakSim();
  cfg = {
    base_url: sim.url,
    realm: sim.realm,
    client_id: sim.client_id,
    client_secret: sim.client_secret,
    verify_writes: true,
    require_verified_email: true,
    missing_user: 'skip',
  };
});
after(() => sim.close());

test('finds the user by exact e-mail and sets the attributes, keeping its profile and other attributes', async () => {
  const id = sim.addUser('kim@example.com', { firstName: 'Kim', lastName: 'Ng' });
  sim.getUser(id)!.attributes.locale = ['de'];
  const [r] = await createKeycloakConnector(cfg).outbound!.deliver([job('a', { email: 'KIM@example.com' })]);
  assert.equal(r!.ok && r!.external_id, id);
  const u = sim.getUser(id)!;
  assert.deepEqual(u.attributes, {
    locale: ['de'],
    household_id: ['hh_01'],
    hierarchy_role: ['head'],
    points_aggregation_opt_in: ['false'],
  });
  assert.deepEqual([u.firstName, u.lastName, u.email], ['Kim', 'Ng', 'kim@example.com']);
});

test('a user whose e-mail is not verified is not matched by e-mail', async () => {
  const id = sim.addUser('una@example.com', {}, false);
  assert.deepEqual(
    await createKeycloakConnector({ ...cfg, missing_user: 'fail' })
      .outbound!.deliver([job('u', { email: 'una@example.com' })])
      .then((rs) => rs.map((r) => (r.ok ? 'ok' : r.kind))),
    ['not_found'],
  );
  assert.deepEqual(sim.getUser(id)!.attributes, {});
});

test('a null claim removes its attribute', () => {
  assert.deepEqual(
    mergeAttributes(
      { household_id: ['hh_1'], tier: ['gold'], x: ['1'] },
      { household_id: null, hierarchy_role: null, points_aggregation_opt_in: false, tier: 'gold' },
    ),
    { tier: ['gold'], x: ['1'], points_aggregation_opt_in: ['false'] },
  );
});

test('attributes dropped by the user profile (unmanaged policy DISABLED) are reported, not silently lost', async () => {
  const id = sim.addUser('lee@example.com');
  sim.setUnmanagedAttributePolicy('DISABLED', ['points_aggregation_opt_in']);
  const [r] = await createKeycloakConnector(cfg).outbound!.deliver([job('b', { external_id: id })]);
  sim.setUnmanagedAttributePolicy('ENABLED');
  assert.equal(r!.ok ? 'ok' : r!.kind, 'invalid');
  assert.match(r!.ok ? '' : r!.message, /household_id, hierarchy_role.*user profile/);
});

test('token cached across deliveries; 429 rate_limited with Retry-After; 5xx transient', async () => {
  const id = sim.addUser('max@example.com');
  const c = createKeycloakConnector(cfg);
  const before = sim.tokensIssued;
  await c.outbound!.deliver([job('c', { external_id: id }), job('d', { external_id: id })]);
  assert.equal(sim.tokensIssued - before, 1);
  sim.faults.set({ rate_limit_next: 1, retry_after_s: 5 });
  const [r] = await c.outbound!.deliver([job('e', { external_id: id })]);
  assert.deepEqual(r!.ok ? null : [r!.kind, r!.retry_after_ms], ['rate_limited', 5000]);
  sim.faults.set({ server_error_next: 1 });
  assert.deepEqual(kinds(await c.outbound!.deliver([job('f', { external_id: id })])), ['transient']);
  sim.faults.set({});
});

test('not found: skipped, or not_found under missing_user: fail; bad client secret is auth', async () => {
  assert.deepEqual(await createKeycloakConnector(cfg).outbound!.deliver([job('g', { email: 'none@example.com' })]), [
    { ok: true },
  ]);
  assert.deepEqual(
    kinds(
      await createKeycloakConnector({ ...cfg, missing_user: 'fail' }).outbound!.deliver([
        job('h', { email: 'none@example.com' }),
      ]),
    ),
    ['not_found'],
  );
  const id = sim.addUser('old@example.com');
  sim.deleteUser(id);
  assert.deepEqual(kinds(await createKeycloakConnector(cfg).outbound!.deliver([job('i', { external_id: id })])), [
    'not_found',
  ]);
  assert.deepEqual(
    kinds(
      await createKeycloakConnector({ ...cfg, client_secret: 'wrong' }).outbound!.deliver([
        job('j', { email: 'kim@example.com' }),
      ]),
    ),
    ['auth'],
  );
});
