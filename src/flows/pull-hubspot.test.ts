import { HearthError } from '../errors.ts';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startHubSpotSim, type HubSpotSim } from '../../sim/hubspot.ts';
import type { HearthConfig } from '../config/loader.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { engineContext, type Hearth } from '../runtime.ts';
import { ADMIN_KEY, eventually, freePort, startTestHearth } from '../../test-support/harness.ts';
import { householdHistory, householdMembersAt, membershipAt } from '../households/membership-store.ts';
import { pullConnector } from './pull-sources.ts';

const SECRET = 'hubspot-client-secret';
const APP_ID = '777001';
const auth = { authorization: `Bearer ${ADMIN_KEY}` };

async function customerOf(hearth: Hearth, system: string, externalId: string): Promise<string> {
  const row = await hearth.hdb.db
    .selectFrom('source_links')
    .select('customer_id')
    .where('system', '=', system)
    .where('external_id', '=', externalId)
    .executeTakeFirstOrThrow();
  return row.customer_id;
}

describeEachDialect('household pull from HubSpot (company as household) and real-time changes', (ctx) => {
  let hearth: Hearth;
  let config: HearthConfig;
  let crm: HubSpotSim;
  const ids: Record<string, string> = {};
  const pull = (o: { restart?: boolean; max_pages?: number } = {}) =>
    pullConnector(hearth.hdb, config, hearth.connectors, engineContext(config, hearth.connectors), 'hubspot', {
      page_size: 2,
      ...o,
    });

  before(async () => {
    const port = await freePort();
    crm = await startHubSpotSim({
      webhook: { url: `http://127.0.0.1:${port}/webhooks/hubspot`, client_secret: SECRET, app_id: APP_ID },
    });
    const hh = crm.households;
    const smiths = hh.createCompany('The Smiths');
    const lees = hh.createCompany('The Lees');
    ids.smiths = smiths;
    ids.lees = lees;
    ids.ann = crm.createContact({
      email: 'ann@smith.example',
      firstname: 'Ann',
      lastname: 'Smith',
      points_aggregation_opt_in: 'true',
    });
    ids.bob = crm.createContact({
      email: 'bob@smith.example',
      firstname: 'Bob',
      lastname: 'Smith',
      points_aggregation_opt_in: 'true',
    });
    ids.cat = crm.createContact({ email: 'cat@smith.example', firstname: 'Cat', lastname: 'Smith' });
    ids.dan = crm.createContact({
      email: 'dan@lee.example',
      firstname: 'Dan',
      lastname: 'Lee',
      points_aggregation_opt_in: 'false',
    });
    ids.eve = crm.createContact({ email: 'eve@solo.example', firstname: 'Eve', lastname: 'Solo' });
    hh.associateCompany(ids.ann, smiths, { primary: true, label: 'Head of household' });
    hh.associateCompany(ids.bob, smiths, { primary: true });
    hh.associateCompany(ids.cat, smiths, { primary: true });
    hh.associateCompany(ids.dan, lees, { primary: true, label: 'Primary contact' });
    // Hearth starts after the CRM was set up: it learns these households from the pull, not from webhooks.
    ({ hearth, config } = await startTestHearth(ctx, {
      port,
      connectors: { hubspot: { access_token: crm.token, base_url: crm.url, client_secret: SECRET, app_id: APP_ID } },
      households: { source: 'hubspot', hubspot_mode: 'company' },
    }));
  });
  after(async () => {
    await hearth.close();
    await crm.close();
  });

  test('a resumable pull imports every contact with its household, head and opt-in', async () => {
    const first = await pull({ restart: true, max_pages: 1 });
    assert.equal(first.status, 'paused');
    assert.equal(first.contacts, 2);
    const rest = await pull();
    assert.equal(rest.resumed, true);
    assert.equal(rest.pull_id, first.pull_id);
    assert.equal(rest.status, 'done');
    assert.deepEqual([rest.pages, rest.contacts], [3, 5], 'five contacts in pages of two, each read once');
    assert.equal(rest.members_changed, 4);

    const ann = await membershipAt(hearth.hdb.db, await customerOf(hearth, 'hubspot', ids.ann!));
    const bob = await membershipAt(hearth.hdb.db, await customerOf(hearth, 'hubspot', ids.bob!));
    const cat = await membershipAt(hearth.hdb.db, await customerOf(hearth, 'hubspot', ids.cat!));
    const dan = await membershipAt(hearth.hdb.db, await customerOf(hearth, 'hubspot', ids.dan!));
    assert.ok(ann && bob && cat && dan);
    assert.equal(ann.household_id, bob.household_id);
    assert.equal(ann.household_id, cat.household_id);
    assert.notEqual(ann.household_id, dan.household_id);
    assert.deepEqual([ann.role, bob.role, cat.role, dan.role], ['head', 'member', 'member', 'head']);
    assert.deepEqual(
      [ann, bob, cat, dan].map((m) => m.points_aggregation_opt_in),
      [true, true, false, false],
    );
    assert.equal(
      await membershipAt(hearth.hdb.db, await customerOf(hearth, 'hubspot', ids.eve!)),
      undefined,
      'a contact with no company has no household',
    );
    const hh = await hearth.hdb.db
      .selectFrom('households')
      .selectAll()
      .where('id', '=', ann.household_id)
      .executeTakeFirstOrThrow();
    assert.deepEqual([hh.source_system, hh.external_id, hh.name], ['hubspot', ids.smiths, 'The Smiths']);
    const customer = (
      await hearth.app.inject({
        method: 'GET',
        url: `/v1/customers/${await customerOf(hearth, 'hubspot', ids.ann!)}`,
        headers: auth,
      })
    ).json();
    assert.equal(customer.email, 'ann@smith.example', 'contacts become customers through the engine');
  });

  test('a second pull changes nothing', async () => {
    const again = await pull({ restart: true });
    assert.equal(again.resumed, false);
    assert.deepEqual(
      [again.contacts, again.customers_created, again.households_created, again.members_changed],
      [5, 0, 0, 0],
    );
  });

  test('two pulls started at the same moment: one runs, the other is told a pull is running (409)', async () => {
    const results = await Promise.allSettled([pull({ restart: true }), pull({ restart: true })]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(refused.reason instanceof HearthError && refused.reason.code === 'conflict', String(refused.reason));
  });

  test('an associationChange webhook moves a member at once and keeps the history', async () => {
    const bobId = await customerOf(hearth, 'hubspot', ids.bob!);
    const before = (await membershipAt(hearth.hdb.db, bobId))!;
    crm.households.dissociateCompany(ids.bob!, ids.smiths!);
    crm.households.associateCompany(ids.bob!, ids.lees!, { primary: true });
    const moved = await eventually(
      async () => {
        const m = await membershipAt(hearth.hdb.db, bobId);
        return m && m.household_id !== before.household_id ? m : null;
      },
      10_000,
      'bob moved',
    );
    const lees = await hearth.hdb.db
      .selectFrom('households')
      .select('id')
      .where('external_id', '=', ids.lees!)
      .executeTakeFirstOrThrow();
    assert.equal(moved.household_id, lees.id);
    assert.equal(moved.role, 'member');
    assert.equal(moved.points_aggregation_opt_in, true, 'consent stays with the person');
    const history = await householdHistory(hearth.hdb.db, before.household_id);
    const bobs = history.filter((m) => m.customer_id === bobId);
    assert.equal(bobs.length, 1);
    assert.ok(
      bobs[0]!.valid_to !== null && bobs[0]!.valid_to <= moved.valid_from,
      'the old period is closed, not deleted',
    );
    const smithsNow = await householdMembersAt(hearth.hdb.db, before.household_id);
    assert.equal(
      smithsNow.some((m) => m.customer_id === bobId),
      false,
    );
  });

  test(
    'an association to a contact Hearth has never seen fetches ' +
      'the contact: joined at once, filled in from the CRM',
    async () => {
      const fay = crm.createContact({
        email: 'fay@lee.example',
        firstname: 'Fay',
        lastname: 'Lee',
        phone: '+1 312 555 0199',
        points_aggregation_opt_in: 'true',
      });
      crm.households.associateCompany(fay, ids.lees!, { primary: true });
      const filled = await eventually(
        async () => {
          const link = await hearth.hdb.db
            .selectFrom('source_links')
            .select('customer_id')
            .where('system', '=', 'hubspot')
            .where('external_id', '=', fay)
            .executeTakeFirst();
          if (!link) return null;
          const c = await hearth.hdb.db
            .selectFrom('customers')
            .selectAll()
            .where('id', '=', link.customer_id)
            .executeTakeFirst();
          return c?.email ? c : null;
        },
        10_000,
        'the fetched contact fills the customer in',
      );
      assert.deepEqual([filled.email, filled.given_name, filled.family_name], ['fay@lee.example', 'Fay', 'Lee']);
      const m = await eventually(
        async () => {
          const x = await membershipAt(hearth.hdb.db, filled.id);
          return x?.points_aggregation_opt_in ? x : null;
        },
        10_000,
        'fay joined with her consent',
      );
      const lees = await hearth.hdb.db
        .selectFrom('households')
        .select('id')
        .where('external_id', '=', ids.lees!)
        .executeTakeFirstOrThrow();
      assert.equal(m.household_id, lees.id);
      const fetches = await hearth.hdb.db
        .selectFrom('jobs')
        .select(['status', 'kind'])
        .where('kind', '=', 'crm.contact_fetch')
        .where('customer_id', '=', filled.id)
        .execute();
      assert.deepEqual(
        fetches.map((j) => j.status),
        ['done'],
      );
    },
  );

  test('an opt-in propertyChange from the CRM updates consent at once', async () => {
    const catId = await customerOf(hearth, 'hubspot', ids.cat!);
    crm.updateFromUi(ids.cat!, { points_aggregation_opt_in: 'true' });
    const m = await eventually(
      async () => {
        const now = await membershipAt(hearth.hdb.db, catId);
        return now?.points_aggregation_opt_in ? now : null;
      },
      10_000,
      'cat opted in',
    );
    assert.equal(m.role, 'member');
  });
  test('the opt-in API writes the property back to HubSpot, whose echo is not applied twice', async () => {
    const danId = await customerOf(hearth, 'hubspot', ids.dan!);
    const res = await hearth.app.inject({
      method: 'PUT',
      url: `/v1/customers/${danId}/household-opt-in`,
      headers: auth,
      payload: { opt_in: true },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().hierarchy_role, 'head');
    await eventually(
      async () => crm.getContact(ids.dan!)!.properties.points_aggregation_opt_in === 'true',
      10_000,
      'written to HubSpot',
    );
    assert.equal(crm.writes(ids.dan!), 1);
    await eventually(
      () =>
        hearth.hdb.db
          .selectFrom('inbox_events')
          .select('id')
          .where('connector', '=', 'hubspot')
          .where('status', '=', 'echo')
          .executeTakeFirst(),
      10_000,
      'the echo of our write',
    );
    const m = (await membershipAt(hearth.hdb.db, danId))!;
    assert.equal(m.points_aggregation_opt_in, true);
    const periods = (await householdHistory(hearth.hdb.db, m.household_id)).filter((p) => p.customer_id === danId);
    assert.equal(periods.length, 2, 'the pull period, then the API one');
    const readonly = await hearth.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: auth,
      payload: { name: 'viewer', role: 'readonly' },
    });
    const viewer = { authorization: `Bearer ${readonly.json().key}` };
    assert.equal(
      (
        await hearth.app.inject({
          method: 'PUT',
          url: `/v1/customers/${danId}/household-opt-in`,
          headers: viewer,
          payload: { opt_in: false },
        })
      ).statusCode,
      403,
    );
    assert.equal(
      (await hearth.app.inject({ method: 'POST', url: '/v1/connectors/hubspot/pull', headers: viewer, payload: {} }))
        .statusCode,
      403,
    );
    assert.equal(
      (await hearth.app.inject({ method: 'GET', url: `/v1/households/${m.household_id}`, headers: viewer })).statusCode,
      200,
    );
  });
});
