import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startZendeskSim, type ZendeskSim } from '../../../sim/zendesk.ts';
import { captureIo } from '../../../test-support/test-io.ts';
import { main } from '../../main.ts';
import { createLogger } from '../../log.ts';
import type { FetchLike } from '../common/http.ts';
import { USER_FIELDS } from './mapping.ts';
import { zendeskDoctor } from './doctor.ts';

type Check = { connector: string; check: string; status: string; detail: string; fix: string | null };
/** The connector config for a simulator. */
const configFor = (sim: ZendeskSim) => ({
  email: sim.email,
  api_token: sim.token,
  base_url: sim.url,
  webhook_secret: 'zendesk-doctor-secret',
  tolerance_seconds: 300,
  job_poll_ms: 20,
  job_timeout_ms: 1000,
});

const fields = (out: string) =>
  (JSON.parse(out).checks as Check[]).find((c) => c.connector === 'zendesk' && c.check === 'properties')!;

test('hearth doctor --fix creates the Zendesk user fields Hearth writes; a second doctor finds them', async () => {
  // An account that already has one of them (created by hand) and an unrelated field.
  const sim = await startZendeskSim({ userFields: ['loyalty_tier', 'shoe_size'] });
  const dir = mkdtempSync(join(tmpdir(), 'hearth-doctor-zendesk-'));
  try {
    const file = join(dir, 'hearth.json');
    const zendesk = {
      email: sim.email,
      api_token: sim.token,
      base_url: sim.url,
      webhook_secret: 'zendesk-doctor-secret',
    };
    writeFileSync(file, JSON.stringify({ database: `sqlite:${join(dir, 'h.db')}`, connectors: { zendesk } }));

    const before = captureIo();
    assert.equal(await main(['doctor', '--config', file, '--json'], before.io), 1);
    const missing = fields(before.out());
    assert.equal(missing.status, 'fail');
    assert.match(missing.detail, /missing user fields: household_id, hierarchy_role, points_balance/);
    assert.doesNotMatch(missing.detail, /loyalty_tier/);
    assert.match(missing.fix ?? '', /hearth doctor --fix/);
    assert.equal(sim.userFields.length, 2, 'a doctor without --fix creates nothing');

    const fixed = captureIo();
    assert.equal(await main(['doctor', '--config', file, '--fix', '--json'], fixed.io), 0, fixed.out());
    assert.match(fields(fixed.out()).detail, /created user fields household_id, .*address_of_record \(--fix\)/);
    const keys = sim.userFields.map((f) => f.key);
    for (const k of USER_FIELDS) assert.equal(keys.filter((x) => x === k).length, 1, k);
    assert.equal(sim.userFields.find((f) => f.key === 'points_balance')?.type, 'integer');

    const after = captureIo();
    assert.equal(await main(['doctor', '--config', file, '--json'], after.io), 0);
    assert.match(fields(after.out()).detail, /exist/);
    assert.equal(sim.userFields.length, USER_FIELDS.length + 1, 'nothing created twice');
  } finally {
    await sim.close();
  }
});

test('zendesk doctor: user fields over several pages; a refused token is a credentials failure', async () => {
  const many = Array.from({ length: 150 }, (_, i) => `other_${i}`);
  const sim = await startZendeskSim({ userFields: [...many, ...USER_FIELDS] });
  const deps = { logger: createLogger('error', process.stderr) };
  try {
    const cfg = configFor(sim);
    const ok = await zendeskDoctor(cfg, { opt_in_property: 'x', household_source: null }, deps);
    assert.equal(ok.find((c) => c.check === 'properties')?.status, 'ok', JSON.stringify(ok));
    assert.equal(ok.find((c) => c.check === 'credentials')?.status, 'ok');
    const refused = await zendeskDoctor(
      { ...cfg, api_token: 'wrong' },
      { opt_in_property: 'x', household_source: null, fix: true },
      deps,
    );
    assert.equal(refused.find((c) => c.check === 'credentials')?.status, 'fail');
    assert.equal(sim.userFields.length, 150 + USER_FIELDS.length, 'a refused token creates nothing');
  } finally {
    await sim.close();
  }
});

test('zendesk doctor --fix: a refused or failed user field creation is named with its status or error', async () => {
  const sim = await startZendeskSim({
    userFields: USER_FIELDS.filter((k) => k !== 'loyalty_tier' && k !== 'subscriptions'),
  });
  const deps = { logger: createLogger('error', process.stderr) };
  const cfg = configFor(sim);
  // Reads reach the simulator; creating `loyalty_tier` is refused (403), `subscriptions` never answers.
  const refusing: FetchLike = async (url, init) => {
    if (init.method !== 'POST') return fetch(url, init);
    const key = (JSON.parse(init.body ?? '{}') as { user_field: { key: string } }).user_field.key;
    if (key === 'subscriptions') throw new Error('socket hang up');
    return {
      status: 403,
      headers: new Headers({ 'content-type': 'application/json' }),
      text: async () => '{"error":"Forbidden"}',
    };
  };
  try {
    const ctx = { opt_in_property: 'x', household_source: null, fix: true };
    const checks = await zendeskDoctor(cfg, ctx, { ...deps, fetch: refusing });
    const fields = checks.find((c) => c.check === 'properties')!;
    assert.equal(fields.status, 'fail');
    assert.equal(
      fields.detail,
      'could not create user fields: loyalty_tier (HTTP 403), subscriptions (socket hang up)',
    );
    assert.equal(sim.userFields.length, USER_FIELDS.length - 2);
  } finally {
    await sim.close();
  }
});
