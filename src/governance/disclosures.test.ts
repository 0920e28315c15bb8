import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startHubSpotSim, type HubSpotSim } from '../../sim/hubspot.ts';
import { startScimSim, type ScimSim } from '../../sim/idp.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { call } from '../../test-support/governance.ts';
import { eventually, startTestHearth } from '../../test-support/harness.ts';
import { idpTargetsOf } from '../config/derive.ts';
import { parseConfig, type HearthConfig } from '../config/loader.ts';
import { linkSource } from '../customers/customer-store.ts';
import { enqueueJobs } from '../engine/jobs.ts';
import { identityPushJobs } from '../flows/identity-push.ts';
import { setMembership, upsertHousehold } from '../households/membership-store.ts';
import { DEFAULT_LOYALTY } from '../loyalty/settings.ts';
import type { Hearth } from '../runtime.ts';
import { fieldsCarried } from './disclosures.ts';
import { minimiseJob, minimiseJobs } from './minimise.ts';

const claims = { household_id: 'hh_1', hierarchy_role: 'head', points_aggregation_opt_in: true, tier: null };

test('fields carried: person fields with a value, a field write’s fields, IdP claims by name', () => {
  const address = { line1: '1 Main St', city: 'Chicago' };
  assert.deepEqual(
    fieldsCarried('crm.address_write', { customer_id: 'c', email: 'a@x.org', address, external_id: null }),
    ['email', 'address'],
  );
  assert.deepEqual(fieldsCarried('crm.fields_write', { fields: { phone: '+1', given_name: null, email: 'a' } }), [
    'email',
    'phone',
  ]);
  assert.deepEqual(fieldsCarried('profile.project', { given_name: 'Ana', email: null, phone: '', address: null }), [
    'given_name',
  ]);
  assert.deepEqual(
    fieldsCarried('webhook.deliver', {
      event: { data: { customer: { email: 'a@x.org' }, previous_address: address } },
    }),
    ['email', 'address'],
  );
  assert.deepEqual(fieldsCarried('idp.claims_push', { email: 'a@x.org', claims }), [
    'email',
    'household_id',
    'hierarchy_role',
    'points_aggregation_opt_in',
  ]);
  assert.deepEqual(fieldsCarried('crm.opt_in_write', { opt_in: true }), []);
});

test('minimisation: an IdP not allowed the e-mail is pushed to by crosswalk id only', () => {
  const job = { target: 'scim', kind: 'idp.claims_push', payload: { external_id: 'u1', email: 'a@x.org', claims } };
  assert.equal((minimiseJob(job, ['given_name'])!.payload as { email: unknown }).email, null);
  assert.equal(minimiseJob(job, ['email']), job);
  assert.equal(minimiseJob(job, undefined), job);
  const config = parseConfig({
    connectors: { scim: { base_url: 'http://127.0.0.1:9', access_token: 't' } },
    governance: { minimisation: { scim: ['given_name'] } },
  });
  assert.deepEqual(idpTargetsOf(config), { idp_targets: ['scim'], idp_without_email: ['scim'] });
  assert.deepEqual(idpTargetsOf(parseConfig({ connectors: config.connectors })), { idp_targets: ['scim'] });
});

describeEachDialect('minimisation audit: which fields went to which system', (ctx) => {
  let hearth: Hearth;
  let config: HearthConfig;
  let crm: HubSpotSim;
  let scim: ScimSim;
  const db = () => ctx.hdb().db;

  before(async () => {
    [crm, scim] = await Promise.all([startHubSpotSim(), startScimSim()]);
    ({ hearth, config } = await startTestHearth(ctx, {
      connectors: {
        hubspot: { access_token: crm.token, base_url: crm.url },
        scim: { base_url: scim.url, access_token: scim.token },
      },
      governance: { minimisation: { scim: ['given_name'], hubspot: ['address'] } },
    }));
  });
  after(async () => {
    await hearth.close();
    await Promise.all([crm.close(), scim.close()]);
  });

  test('delivered jobs record their fields; IdP pushes carry no e-mail, and none without a known login', async () => {
    const now = Date.now();
    const person = (id: string, email: string) => ({
      id,
      given_name: 'Pat',
      family_name: 'Lee',
      email,
      email_normalized: email,
      field_sources: '{}',
      version: 1,
      created_at: now,
      updated_at: now,
    });
    await db()
      .insertInto('customers')
      .values([person('cus_d_linked', 'linked@example.com'), person('cus_d_unlinked', 'unlinked@example.com')])
      .execute();
    const login = scim.addUser('linked@example.com');
    await linkSource(db(), 'scim', login, 'cus_d_linked', null, now);
    scim.addUser('unlinked@example.com');
    const hs = crm.createContact({ email: 'linked@example.com' });
    await linkSource(db(), 'hubspot', hs, 'cus_d_linked', null, now);

    const hh = await upsertHousehold(db(), 'hubspot', 'co-d', 'Lee household', now);
    const pushes = await db()
      .transaction()
      .execute(async (trx) => {
        for (const id of ['cus_d_linked', 'cus_d_unlinked'])
          await setMembership(trx, id, { household_id: hh, role: 'head', opt_in: true, source_system: 'hubspot' }, now);
        const jobs = await identityPushJobs(
          trx,
          idpTargetsOf(config),
          DEFAULT_LOYALTY,
          [
            { id: 'cus_d_linked', email: 'linked@example.com' },
            { id: 'cus_d_unlinked', email: 'unlinked@example.com' },
          ],
          { source: 'hubspot', occurred_at: now, event_id: null },
        );
        // An address write with an e-mail, as a flow builds it, through the job builder's minimisation.
        const write = {
          target: 'hubspot',
          kind: 'crm.address_write',
          job_key: 'hubspot:cus_d_linked',
          payload: {
            customer_id: 'cus_d_linked',
            external_id: hs,
            email: 'linked@example.com',
            address: {
              line1: '9 Oak St',
              line2: null,
              city: 'Austin',
              region: 'TX',
              postal_code: '78701',
              country: 'US',
            },
            corrected_at: now,
          },
          origin_at: now,
          customer_id: 'cus_d_linked',
        };
        await enqueueJobs(trx, [...jobs, ...minimiseJobs([write], config.governance.minimisation)], 4, now);
        return jobs;
      });
    assert.deepEqual(
      pushes.map((j) => [j.customer_id, (j.payload as { email: unknown }).email]),
      [['cus_d_linked', null]],
      'the IdP gets no e-mail; a customer whose login is not in the crosswalk gets no push',
    );
    hearth.workers?.wake();
    const rows = await eventually(async () => {
      const r = await call(hearth, 'GET', '/v1/disclosures?customer_id=cus_d_linked&limit=10');
      return r.body.data.length === 2 ? r.body.data : null;
    });
    const bySystem = Object.fromEntries(rows.map((d: any) => [d.system, d]));
    assert.deepEqual(bySystem.scim.fields, ['household_id', 'hierarchy_role', 'tier', 'points_aggregation_opt_in']);
    assert.equal(bySystem.scim.kind, 'idp.claims_push');
    assert.deepEqual(bySystem.hubspot.fields, ['address'], 'the e-mail was blanked before it left');
    assert.equal(scim.getUser(login)?.userName, 'linked@example.com');
    const only = await call(hearth, 'GET', '/v1/disclosures?system=scim&limit=10');
    assert.deepEqual(
      only.body.data.map((d: any) => d.system),
      ['scim'],
    );
  });
});
