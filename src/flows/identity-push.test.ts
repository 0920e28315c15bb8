import { DEFAULT_LOYALTY } from '../loyalty/settings.ts';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startAuth0Sim,
  startKeycloakSim,
  startScimSim,
  type Auth0Sim,
  type KeycloakSim,
  type ScimSim,
} from '../../sim/idp.ts';
import { HEARTH_SCIM_SCHEMA } from '../connectors/scim/index.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import type { HearthDb } from '../db/database.ts';
import { setMembership, upsertHousehold, type MembershipInput } from '../households/membership-store.ts';
import { newId } from '../ids.ts';
import { tierOf } from '../loyalty/tier-store.ts';
import type { HearthConfig } from '../config/loader.ts';
import type { Hearth } from '../runtime.ts';
import { identityPushJobs, idpTargets } from './identity-push.ts';
import { idpTargetsOf } from '../config/derive.ts';
import { parseConfig } from '../config/loader.ts';
import { enqueueJobs } from '../engine/jobs.ts';
import { ADMIN_KEY, eventually, startTestHearth } from '../../test-support/harness.ts';

async function insertCustomer(hdb: HearthDb, email: string | null, now = Date.now()): Promise<string> {
  const id = newId('cus', now);
  await hdb.db
    .insertInto('customers')
    .values({
      id,
      given_name: 'Pat',
      family_name: 'Lee',
      email,
      email_normalized: email?.toLowerCase() ?? null,
      phone: null,
      address_line1: null,
      address_line2: null,
      city: null,
      region: null,
      postal_code: null,
      country: null,
      address_key: null,
      address_source: null,
      address_validated_at: null,
      field_sources: '{}',
      merged_into: null,
      version: 1,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return id;
}

/** Changes a membership and queues the IdP pushes in one transaction, as the household and loyalty flows do. */
async function changeMembership(
  hdb: HearthDb,
  config: HearthConfig,
  customer: { id: string; email: string | null },
  next: MembershipInput | null,
  now = Date.now(),
): Promise<number> {
  return hdb.db.transaction().execute(async (trx) => {
    await setMembership(trx, customer.id, next, now);
    const jobs = await identityPushJobs(trx, idpTargetsOf(config), DEFAULT_LOYALTY, [customer], {
      source: 'hubspot',
      occurred_at: now,
      event_id: null,
    });
    await enqueueJobs(trx, jobs, config.jobs.max_attempts, now);
    return jobs.length;
  });
}

describeEachDialect('identity-provider push of household claims', (ctx) => {
  let hearth: Hearth;
  let config: HearthConfig;
  let scim: ScimSim;
  let auth0: Auth0Sim;
  let keycloak: KeycloakSim;
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };
  const jobsOf = async (customerId: string) =>
    (await hearth.app.inject({ method: 'GET', url: `/v1/jobs?limit=500`, headers: auth }))
      .json()
      .data.filter((j: { customer_id: string }) => j.customer_id === customerId) as {
      status: string;
      target: string;
      attempts: number;
      last_error_kind: string | null;
    }[];

  before(async () => {
    [scim, auth0, keycloak] = await Promise.all([startScimSim(), startAuth0Sim(), startKeycloakSim()]);
    ({ hearth, config } = await startTestHearth(ctx, {
      connectors: {
        scim: { base_url: scim.url, access_token: scim.token },
        auth0: { domain: auth0.url, client_id: auth0.client_id, client_secret: auth0.client_secret },
        keycloak: {
          base_url: keycloak.url,
          realm: keycloak.realm,
          client_id: keycloak.client_id,
          client_secret: keycloak.client_secret,
        },
      },
    }));
  });
  after(async () => {
    await hearth.close();
    await Promise.all([scim.close(), auth0.close(), keycloak.close()]);
  });

  test('targets are the configured identity providers', () => {
    assert.deepEqual(idpTargets(idpTargetsOf(config)), ['scim', 'auth0', 'keycloak']);
    assert.deepEqual(idpTargets({ idp_targets: ['auth0'] }), ['auth0']);
    assert.deepEqual(idpTargetsOf(parseConfig({})).idp_targets, []);
  });

  test(
    'a new membership reaches all three IdPs through ' + 'the worker, and the crosswalk learns the user ids',
    async () => {
      const hdb = ctx.hdb();
      const email = 'rita@example.com';
      const scimId = scim.addUser(email);
      const auth0Id = auth0.addUser(email);
      const kcId = keycloak.addUser(email, { firstName: 'Rita' });
      const id = await insertCustomer(hdb, email);
      const hh = await upsertHousehold(hdb.db, 'hubspot', 'company-1', 'Rivera household', Date.now());
      assert.equal(
        await changeMembership(
          hdb,
          config,
          { id, email },
          { household_id: hh, role: 'head', opt_in: true, source_system: 'hubspot' },
        ),
        3,
      );
      hearth.workers!.wake();
      await eventually(
        async () => (await jobsOf(id)).filter((j) => j.status === 'done').length === 3,
        15_000,
        'three pushes done',
      );

      const tier = await tierOf(hdb.db, id, Date.now(), DEFAULT_LOYALTY);
      assert.deepEqual(scim.getUser(scimId)![HEARTH_SCIM_SCHEMA], {
        householdId: hh,
        hierarchyRole: 'head',
        pointsAggregationOptIn: true,
        ...(tier === null ? {} : { tier }),
      });
      assert.deepEqual(auth0.getUser(auth0Id)!.app_metadata.household, {
        household_id: hh,
        hierarchy_role: 'head',
        points_aggregation_opt_in: true,
        tier,
      });
      assert.deepEqual(keycloak.getUser(kcId)!.attributes.household_id, [hh]);
      assert.equal(keycloak.getUser(kcId)!.firstName, 'Rita');
      const links = await hdb.db
        .selectFrom('source_links')
        .select(['system', 'external_id'])
        .where('customer_id', '=', id)
        .orderBy('system')
        .execute();
      assert.deepEqual(
        links.map((l) => [l.system, l.external_id]),
        [
          ['auth0', auth0Id],
          ['keycloak', kcId],
          ['scim', scimId],
        ],
      );

      // The next push goes straight to the learned ids (no search); leaving the household clears the claims.
      const searchesBefore = scim.requests.filter((r) => r.method === 'GET').length;
      await changeMembership(hdb, config, { id, email }, null);
      hearth.workers!.wake();
      await eventually(
        async () => (await jobsOf(id)).filter((j) => j.status === 'done').length === 6,
        15_000,
        'second round done',
      );
      assert.equal(scim.requests.filter((r) => r.method === 'GET').length, searchesBefore);
      assert.equal((auth0.getUser(auth0Id)!.app_metadata.household as { household_id: unknown }).household_id, null);
      assert.equal(keycloak.getUser(kcId)!.attributes.household_id, undefined);
      assert.equal(
        (scim.getUser(scimId)![HEARTH_SCIM_SCHEMA] as Record<string, unknown> | undefined)?.householdId,
        undefined,
      );
    },
  );

  test('a 429 from the IdP is retried after Retry-After until it lands', async () => {
    const hdb = ctx.hdb();
    const email = 'sam@example.com';
    const auth0Id = auth0.addUser(email);
    const id = await insertCustomer(hdb, email);
    const hh = await upsertHousehold(hdb.db, 'hubspot', 'company-2', null, Date.now());
    auth0.faults.set({ rate_limit_next: 2, retry_after_s: 0 });
    await changeMembership(
      hdb,
      config,
      { id, email },
      { household_id: hh, role: 'member', opt_in: false, source_system: 'hubspot' },
    );
    hearth.workers!.wake();
    const job = await eventually(
      async () => (await jobsOf(id)).find((j) => j.target === 'auth0' && j.status === 'done'),
      15_000,
      'auth0 push done',
    );
    auth0.faults.set({});
    assert.equal(job.attempts, 3);
    assert.equal(job.last_error_kind, 'rate_limited');
    assert.equal(
      (auth0.getUser(auth0Id)!.app_metadata.household as { hierarchy_role: string }).hierarchy_role,
      'member',
    );
  });

  test(
    'pushes for one customer are keyed by target+customer, ' + 'and a newer one supersedes a pending older one',
    async () => {
      const hdb = ctx.hdb();
      const id = await insertCustomer(hdb, 'una@example.com');
      const hh = await upsertHousehold(hdb.db, 'hubspot', 'company-3', null, Date.now());
      await hearth.workers!.stop();
      const now = Date.now();
      const jobs = await hdb.db.transaction().execute(async (trx) => {
        await setMembership(
          trx,
          id,
          { household_id: hh, role: 'member', opt_in: false, source_system: 'hubspot' },
          now,
        );
        const first = await identityPushJobs(
          trx,
          { idp_targets: ['auth0'] },
          DEFAULT_LOYALTY,
          [{ id, email: 'una@example.com' }],
          { source: 'hubspot', occurred_at: now },
        );
        await enqueueJobs(trx, first, 4, now);
        await setMembership(
          trx,
          id,
          { household_id: hh, role: 'member', opt_in: true, source_system: 'hubspot' },
          now + 1,
        );
        const second = await identityPushJobs(
          trx,
          { idp_targets: ['auth0'] },
          DEFAULT_LOYALTY,
          [{ id, email: 'una@example.com' }],
          { source: 'hubspot', occurred_at: now + 1 },
        );
        await enqueueJobs(trx, second, 4, now + 1);
        return [...first, ...second];
      });
      assert.deepEqual(
        jobs.map((j) => [
          j.job_key,
          (j.payload as { claims: { points_aggregation_opt_in: boolean } }).claims.points_aggregation_opt_in,
        ]),
        [
          [`auth0:${id}`, false],
          [`auth0:${id}`, true],
        ],
      );
      const rows = await hdb.db
        .selectFrom('jobs')
        .select('status')
        .where('customer_id', '=', id)
        .orderBy('id')
        .execute();
      assert.deepEqual(
        rows.map((r) => r.status),
        ['superseded', 'pending'],
      );
    },
  );

  test('a customer with neither a known IdP id nor an e-mail gets no push', async () => {
    const hdb = ctx.hdb();
    const id = await insertCustomer(hdb, null);
    const jobs = await identityPushJobs(hdb.db, idpTargetsOf(config), DEFAULT_LOYALTY, [{ id, email: null }], {
      source: 'api',
      occurred_at: Date.now(),
    });
    assert.deepEqual(jobs, []);
  });
});
