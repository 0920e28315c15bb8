import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startScimSim, type ScimSim } from '../../../sim/idp.ts';
import type { IdentityPushPayload } from '../../canonical/identity-claims.ts';
import type { DeliveryResult } from '../../canonical/types.ts';
import { createScimConnector, HEARTH_SCIM_SCHEMA, scimPatch, type ScimConfig } from './index.ts';

const claims = {
  household_id: 'hh_01',
  hierarchy_role: 'head' as const,
  points_aggregation_opt_in: true,
  tier: 'gold',
};
const job = (id: string, p: Partial<IdentityPushPayload>) => ({
  id,
  kind: 'idp.claims_push',
  attempts: 1,
  payload: { customer_id: `cus_${id}`, external_id: null, email: null, claims, changed_at: 1, ...p },
});
const kinds = (rs: DeliveryResult[]) => rs.map((r) => (r.ok ? 'ok' : r.kind));

let sim: ScimSim;
let cfg: ScimConfig;
before(async () => {
  sim = await startScimSim();
  cfg = { base_url: sim.url, access_token: sim.token, schema_urn: HEARTH_SCIM_SCHEMA, missing_user: 'skip' };
});
after(() => sim.close());

test('finds the user by userName and PATCHes the extension attributes', async () => {
  const id = sim.addUser('jane@example.com', { name: { givenName: 'Jane' } });
  const [r] = await createScimConnector(cfg).outbound!.deliver([job('a', { email: 'Jane@Example.com' })]);
  assert.deepEqual(r, {
    ok: true,
    external_id: id,
    written: { household_id: 'hh_01', hierarchy_role: 'head', points_aggregation_opt_in: 'true', tier: 'gold' },
  });
  const user = sim.getUser(id)!;
  assert.deepEqual(user[HEARTH_SCIM_SCHEMA], {
    householdId: 'hh_01',
    hierarchyRole: 'head',
    pointsAggregationOptIn: true,
    tier: 'gold',
  });
  assert.ok(user.schemas.includes(HEARTH_SCIM_SCHEMA));
  assert.deepEqual(user.name, { givenName: 'Jane' });
});

test('falls back to emails.value when userName is not the e-mail; a known id is patched directly', async () => {
  const id = sim.addUser('jdoe', { emails: [{ value: 'john@example.com', primary: true }] });
  const [found] = await createScimConnector(cfg).outbound!.deliver([job('b', { email: 'john@example.com' })]);
  assert.equal(found!.ok && found!.external_id, id);
  const before = sim.requests.length;
  const left = { household_id: null, hierarchy_role: null, points_aggregation_opt_in: false, tier: null };
  const [direct] = await createScimConnector(cfg).outbound!.deliver([
    job('c', { external_id: id, email: 'john@example.com', claims: left }),
  ]);
  assert.equal(direct!.ok, true);
  assert.deepEqual(
    sim.requests.slice(before).map((r) => r.method),
    ['PATCH'],
  );
  assert.deepEqual(sim.getUser(id)![HEARTH_SCIM_SCHEMA], { pointsAggregationOptIn: false });
});

test('a null claim becomes a remove operation; values are replace operations on the extension path', () => {
  const patch = scimPatch(HEARTH_SCIM_SCHEMA, {
    household_id: null,
    hierarchy_role: null,
    points_aggregation_opt_in: false,
    tier: 'silver',
  });
  assert.deepEqual(patch.Operations, [
    { op: 'remove', path: `${HEARTH_SCIM_SCHEMA}:householdId` },
    { op: 'remove', path: `${HEARTH_SCIM_SCHEMA}:hierarchyRole` },
    { op: 'replace', path: `${HEARTH_SCIM_SCHEMA}:pointsAggregationOptIn`, value: false },
    { op: 'replace', path: `${HEARTH_SCIM_SCHEMA}:tier`, value: 'silver' },
  ]);
});

test('429 is rate_limited with Retry-After, and the rest of the batch waits; 5xx is transient', async () => {
  const id = sim.addUser('busy@example.com');
  sim.faults.set({ rate_limit_next: 1, retry_after_s: 3 });
  const before = sim.requests.length;
  const rs = await createScimConnector(cfg).outbound!.deliver([
    job('d', { external_id: id }),
    job('e', { external_id: id }),
  ]);
  assert.deepEqual(kinds(rs), ['rate_limited', 'rate_limited']);
  assert.equal((rs[1] as { retry_after_ms?: number }).retry_after_ms, 3000);
  assert.equal(sim.requests.length - before, 1);
  sim.faults.set({ server_error_next: 1 });
  assert.deepEqual(kinds(await createScimConnector(cfg).outbound!.deliver([job('f', { external_id: id })])), [
    'transient',
  ]);
  sim.faults.set({});
});

test(
  'no such user: skipped by default, not_found under ' + 'missing_user: fail; a deleted known user is not_found',
  async () => {
    assert.deepEqual(await createScimConnector(cfg).outbound!.deliver([job('g', { email: 'nobody@example.com' })]), [
      { ok: true },
    ]);
    const strict = createScimConnector({ ...cfg, missing_user: 'fail' });
    assert.deepEqual(kinds(await strict.outbound!.deliver([job('h', { email: 'nobody@example.com' })])), ['not_found']);
    const id = sim.addUser('gone@example.com');
    sim.deleteUser(id);
    const [r] = await strict.outbound!.deliver([job('i', { external_id: id })]);
    assert.equal(r!.ok ? 'ok' : r!.kind, 'not_found');
  },
);

test('a provider that cannot filter on emails: the userName search is the only way in', async () => {
  const calls: string[] = [];
  const fetch = async (url: string) => {
    calls.push(decodeURIComponent(new URL(url).searchParams.get('filter') ?? ''));
    const emailFilter = url.includes('emails.value');
    return {
      status: emailFilter ? 400 : 200,
      headers: { get: () => null },
      text: async () =>
        JSON.stringify(
          emailFilter
            ? {
                schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
                status: '400',
                scimType: 'invalidFilter',
                detail: 'unsupported',
              }
            : { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0, Resources: [] },
        ),
    };
  };
  const rs = await createScimConnector(cfg, { fetch }).outbound!.deliver([job('k', { email: 'x"y@example.com' })]);
  assert.deepEqual(rs, [{ ok: true }]);
  assert.deepEqual(calls, ['userName eq "x\\"y@example.com"', 'emails.value eq "x\\"y@example.com"']);
});

test('a wrong token is an auth failure whose message carries no secret', async () => {
  const [r] = await createScimConnector({ ...cfg, access_token: 'wrong-token' }).outbound!.deliver([
    job('j', { email: 'jane@example.com' }),
  ]);
  assert.equal(r!.ok ? 'ok' : r!.kind, 'auth');
  assert.doesNotMatch(r!.ok ? '' : r!.message, /wrong-token|jane@example/);
});
