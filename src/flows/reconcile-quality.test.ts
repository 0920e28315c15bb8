import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startHubSpotSim, type HubSpotSim } from '../../sim/hubspot.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { call } from '../../test-support/governance.ts';
import { eventually, freePort, startTestHearth } from '../../test-support/harness.ts';
import { isQuiet } from '../engine/quiet.ts';
import { normalizeAddress } from '../address/index.ts';
import type { PostalAddress } from '../address/types.ts';
import { addressColumns, normalizeEmail } from '../canonical/customer.ts';
import type { HearthDb } from '../db/database.ts';
import { newId } from '../ids.ts';
import type { Hearth } from '../runtime.ts';

const SECRET = 'hubspot-client-secret';
const APP_ID = '777015';
const chicago = (line1: string): PostalAddress => ({
  line1,
  city: 'Chicago',
  region: 'IL',
  postal_code: '60614',
  country: 'US',
});

async function insertCustomer(
  hdb: HearthDb,
  email: string,
  name: string,
  address: PostalAddress,
  phone: string | null = null,
): Promise<string> {
  const now = Date.now();
  const id = newId('cus', now);
  await hdb.db
    .insertInto('customers')
    .values({
      id,
      given_name: name,
      family_name: 'Test',
      email,
      email_normalized: normalizeEmail(email),
      phone,
      ...addressColumns(address),
      address_key: normalizeAddress(address).key,
      address_source: 'shopify',
      address_validated_at: now,
      field_sources: JSON.stringify({ address: 'shopify' }),
      merged_into: null,
      version: 1,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return id;
}

describeEachDialect('governance: quality rules and the heal flag in reconciliation', (ctx) => {
  let hearth: Hearth;
  let crm: HubSpotSim;
  const contact = (email: string, name: string, line1: string) =>
    crm.createContact({ email, firstname: name, lastname: 'Test', address: line1, city: 'Springfield', state: 'IL' });
  const findings = async (runId: string) =>
    (await call(hearth, 'GET', `/v1/reconcile/findings?run_id=${runId}`)).body.data as {
      customer_id: string;
      field: string;
      status: string;
      detail: { quality?: { rule: string } };
    }[];

  before(async () => {
    const port = await freePort();
    crm = await startHubSpotSim({
      webhook: { url: `http://127.0.0.1:${port}/webhooks/hubspot`, client_secret: SECRET, app_id: APP_ID },
    });
    ({ hearth } = await startTestHearth(ctx, {
      port,
      connectors: { hubspot: { access_token: crm.token, base_url: crm.url, client_secret: SECRET, app_id: APP_ID } },
      writeback: { crm: 'hubspot', sync_window_seconds: 60 },
      reconcile: { policies: { phone: 'heal', given_name: 'heal' } },
      governance: {
        quality: { rules: [{ name: 'street-number', field: 'address', check: 'format', pattern: '\\d+ .+' }] },
        // Names may not leave Hearth to the CRM: a name heal is reported, never written.
        minimisation: { hubspot: ['address', 'phone', 'email'] },
      },
    }));
  });
  after(async () => {
    await hearth.close();
    await crm.close();
  });

  test('a heal that would write a breaking value waits for review; the others heal', async () => {
    contact('ana@example.com', 'Ana', '14 Elm St');
    contact('bo@example.com', 'Bo', '15 Elm St');
    const ana = await insertCustomer(ctx.hdb(), 'ana@example.com', 'Ana', chicago('2200 N Lincoln Ave'));
    const bo = await insertCustomer(ctx.hdb(), 'bo@example.com', 'Bo', chicago('Lincoln Park'));
    const run = await call(hearth, 'POST', '/v1/reconcile/runs', { wait: true });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    assert.equal(run.body.jobs, 1);
    const byCustomer = new Map((await findings(run.body.id)).map((f) => [f.customer_id, f]));
    assert.equal(byCustomer.get(ana)?.status, 'healing');
    assert.equal(byCustomer.get(bo)?.status, 'open');
    assert.equal(byCustomer.get(bo)?.detail.quality?.rule, 'street-number');
  });

  test('reconcile.heal off: heal-policy drift waits for review, from the next run on', async () => {
    assert.equal((await call(hearth, 'PUT', '/v1/flags/reconcile.heal', { value: 'off' })).status, 200);
    contact('cy@example.com', 'Cy', '16 Elm St');
    const cy = await insertCustomer(ctx.hdb(), 'cy@example.com', 'Cy', chicago('9 Oak St'));
    const run = await call(hearth, 'POST', '/v1/reconcile/runs', { wait: true });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    assert.equal(run.body.jobs, 0);
    const cyFinding = (await findings(run.body.id)).find((f) => f.customer_id === cy);
    assert.equal(cyFinding?.status, 'open');
  });

  test('reverting a run writes back what the CRM held before its heals; address heals are listed', async () => {
    await call(hearth, 'PUT', '/v1/flags/reconcile.heal', { value: 'on' });
    const id = crm.createContact({
      email: 'dee@example.com',
      firstname: 'Dee',
      lastname: 'Test',
      phone: '(312) 555-0199',
    });
    await insertCustomer(ctx.hdb(), 'dee@example.com', 'Dee', chicago('1 Market St'), '+13125550104');
    const run = await call(hearth, 'POST', '/v1/reconcile/runs', { wait: true });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    const phoneOf = () => crm.listContacts().find((c) => c.id === id)?.properties.phone;
    await eventually(async () => phoneOf() === '+13125550104', 10_000, 'the heal reached the CRM');
    await eventually(() => isQuiet(ctx.hdb().db), 10_000, 'outbox drained');

    const dry = await call(hearth, 'POST', '/v1/revert', { run: run.body.id, dry_run: true });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.deepEqual(
      dry.body.steps.map((s: { field: string; from: string; to: string }) => [s.field, s.from, s.to]),
      [['phone', '+13125550104', '(312) 555-0199']],
    );
    assert.ok(dry.body.unsupported.some((u: { field: string }) => u.field === 'address'));
    const done = await call(hearth, 'POST', '/v1/revert', { run: run.body.id, dry_run: false });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.jobs, 1);
    await eventually(async () => phoneOf() === '(312) 555-0199', 10_000, 'the CRM holds its own value again');
  });

  test('a heal of a field the CRM may not receive (minimisation) is reported, not written', async () => {
    crm.createContact({ email: 'eve@example.com', firstname: 'Eve', lastname: 'Test' });
    const eve = await insertCustomer(ctx.hdb(), 'eve@example.com', 'Evelyn', chicago('3 Pine St'));
    const run = await call(hearth, 'POST', '/v1/reconcile/runs', { wait: true });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    const name = (await findings(run.body.id)).find((f) => f.customer_id === eve && f.field === 'given_name');
    assert.equal(name?.status, 'reported');
    assert.match(String((name?.detail as { minimisation?: string }).minimisation), /leaves out given_name/);
  });
});
