import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startHubSpotSim, type HubSpotSim } from '../../../sim/hubspot.ts';
import { describeEachDialect } from '../../../test-support/dialects.ts';
import { ADMIN_KEY, startTestHearth } from '../../../test-support/harness.ts';
import type { Hearth } from '../../runtime.ts';

const GRANT = { client_id: 'app-1', client_secret: 'shh-secret', refresh_token: 'rt-1' };
const as = { authorization: `Bearer ${ADMIN_KEY}` };

describeEachDialect('connector status and readiness', (ctx) => {
  let sim: HubSpotSim;
  let hearth: Hearth;
  before(async () => {
    sim = await startHubSpotSim({ oauth: GRANT, missing_properties: ['points_aggregation_opt_in'] });
    ({ hearth } = await startTestHearth(ctx, {
      connectors: { hubspot: { base_url: sim.url, oauth: GRANT } },
      writeback: { crm: 'hubspot' },
    }));
  });
  after(async () => {
    await hearth.close();
    await sim.close();
  });

  test('GET /v1/connectors/status: credential state and the checks, with what to fix', async () => {
    const res = await hearth.app.inject({ method: 'GET', url: '/v1/connectors/status', headers: as });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    const hub = body.connectors.find((c: { name: string }) => c.name === 'hubspot');
    assert.equal(hub.auth.state, 'ok');
    assert.equal(hub.auth.renewable, true);
    const byCheck = Object.fromEntries(
      body.checks.filter((c: { connector: string }) => c.connector === 'hubspot').map((c: any) => [c.check, c]),
    );
    assert.equal(byCheck.reachable.status, 'ok');
    assert.equal(byCheck.credentials.status, 'ok');
    assert.equal(byCheck.scopes.status, 'ok');
    assert.equal(byCheck.properties.status, 'fail');
    assert.match(byCheck.properties.fix, /points_aggregation_opt_in/);
    assert.equal(byCheck.clock.status, 'ok');
    assert.equal(body.ok, false);
    const quick = await hearth.app.inject({ method: 'GET', url: '/v1/connectors/status?checks=false', headers: as });
    assert.deepEqual(quick.json().checks, []);
    const bad = await hearth.app.inject({ method: 'GET', url: '/v1/connectors/status?checks=maybe', headers: as });
    assert.equal(bad.statusCode, 400);
  });

  test('/readyz names a connector whose grant was revoked; it is ready again after a new grant', async () => {
    assert.equal((await hearth.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    sim.oauth!.revoke();
    const src = hearth.connectors.hubspot!.source!;
    await assert.rejects(src.listContacts(null, { limit: 1 }));
    const res = await hearth.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 503);
    assert.match(res.json().reason, /hubspot \(needs_reauth: .*invalid_grant/);
    assert.deepEqual(res.json().connectors, { hubspot: 'needs_reauth' });
  });
});

test('no connector with checks: an empty list', { skip: false }, async () => {
  const { doctorTable } = await import('../../cli/doctor.ts');
  assert.equal(doctorTable([]), 'no connector with checks is configured');
  const table = doctorTable([
    { connector: 'hubspot', check: 'properties', status: 'fail', detail: 'missing', fix: 'create it' },
  ]);
  assert.match(table.split('\n')[1]!, /^hubspot\s+properties\s+FAIL\s+missing\s+create it$/);
});
