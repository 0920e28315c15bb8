import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startSalesforceSim, type SalesforceSim } from '../../sim/salesforce.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import type { Hearth } from '../runtime.ts';
import { isQuiet } from '../engine/quiet.ts';
import { ADMIN_KEY, eventually, freePort, startTestHearth } from '../../test-support/harness.ts';
import { householdHistory, membershipAt } from '../households/membership-store.ts';

const CDC_SECRET = 'cdc-relay-secret';
const OPT_IN = 'Points_Aggregation_Opt_In__c';
const auth = { authorization: `Bearer ${ADMIN_KEY}` };

describeEachDialect('household pull from Salesforce NPSP, CDC moves and the opt-in API', (ctx) => {
  let hearth: Hearth;
  let crm: SalesforceSim;
  const ids: Record<string, string> = {};
  const customerOf = async (id: string) =>
    (
      await hearth.hdb.db
        .selectFrom('source_links')
        .select('customer_id')
        .where('system', '=', 'salesforce')
        .where('external_id', '=', id)
        .executeTakeFirstOrThrow()
    ).customer_id;
  const settled = () => eventually(() => isQuiet(ctx.hdb().db), 15_000, 'settled');

  before(async () => {
    const port = await freePort();
    crm = await startSalesforceSim({
      cdc: { url: `http://127.0.0.1:${port}/webhooks/salesforce`, secret: CDC_SECRET },
    });
    ids.park = crm.accounts.createAccount({
      Name: 'Park Household',
      RecordTypeDeveloperName: 'HH_Account',
      npe01__SYSTEM_AccountType__c: 'Household Account',
    });
    ids.kim = crm.accounts.createAccount({ Name: 'Kim Household', RecordTypeDeveloperName: 'HH_Account' });
    ids.acme = crm.accounts.createAccount({ Name: 'Acme Corp', RecordTypeDeveloperName: 'Organization' });
    ids.lee = crm.createContact({
      Email: 'lee@park.example',
      FirstName: 'Lee',
      LastName: 'Park',
      AccountId: ids.park,
      [OPT_IN]: 'true',
    });
    ids.min = crm.createContact({
      Email: 'min@park.example',
      FirstName: 'Min',
      LastName: 'Park',
      AccountId: ids.park,
      [OPT_IN]: 'false',
    });
    ids.jay = crm.createContact({ Email: 'jay@kim.example', FirstName: 'Jay', LastName: 'Kim', AccountId: ids.kim });
    ids.ora = crm.createContact({
      Email: 'ora@acme.example',
      FirstName: 'Ora',
      LastName: 'Stone',
      AccountId: ids.acme,
      [OPT_IN]: 'true',
    });
    crm.accounts.updateAccount(ids.park, { npe01__One2OneContact__c: ids.lee });
    crm.accounts.updateAccount(ids.kim, { npe01__One2OneContact__c: ids.jay });
    ({ hearth } = await startTestHearth(ctx, {
      port,
      connectors: {
        salesforce: {
          instance_url: crm.url,
          access_token: crm.token,
          client_id: 'hearth-test',
          cdc_secret: CDC_SECRET,
        },
      },
      households: { source: 'salesforce', opt_in_property: OPT_IN },
    }));
  });
  after(async () => {
    await hearth.close();
    await crm.close();
  });

  test('POST /v1/connectors/salesforce/pull maps Household Accounts, primary contacts and opt-ins', async () => {
    const res = await hearth.app.inject({
      method: 'POST',
      url: '/v1/connectors/salesforce/pull',
      headers: auth,
      payload: { page_size: 200 },
    });
    assert.equal(res.statusCode, 200, res.body);
    const summary = res.json();
    assert.deepEqual(
      [
        summary.status,
        summary.contacts,
        summary.customers_created,
        summary.households_created,
        summary.members_changed,
      ],
      ['done', 4, 4, 2, 3],
    );
    const lee = (await membershipAt(hearth.hdb.db, await customerOf(ids.lee!)))!;
    const min = (await membershipAt(hearth.hdb.db, await customerOf(ids.min!)))!;
    const jay = (await membershipAt(hearth.hdb.db, await customerOf(ids.jay!)))!;
    assert.equal(lee.household_id, min.household_id);
    assert.deepEqual([lee.role, min.role, jay.role], ['head', 'member', 'head']);
    assert.deepEqual(
      [lee.points_aggregation_opt_in, min.points_aggregation_opt_in, jay.points_aggregation_opt_in],
      [true, false, false],
    );
    assert.equal(
      await membershipAt(hearth.hdb.db, await customerOf(ids.ora!)),
      undefined,
      'an organisation account is not a household',
    );

    const view = (
      await hearth.app.inject({ method: 'GET', url: `/v1/households/${lee.household_id}`, headers: auth })
    ).json();
    assert.equal(view.name, 'Park Household');
    assert.equal(view.external_id, ids.park);
    assert.deepEqual(
      view.members
        .map((m: { email: string; hierarchy_role: string; points_aggregation_opt_in: boolean }) => [
          m.email,
          m.hierarchy_role,
          m.points_aggregation_opt_in,
        ])
        .sort(),
      [
        ['lee@park.example', 'head', true],
        ['min@park.example', 'member', false],
      ],
    );
    assert.equal(view.pool_balance, 0);
    assert.ok('tier' in view);
    const byCustomer = (
      await hearth.app.inject({
        method: 'GET',
        url: `/v1/households?customer_id=${await customerOf(ids.min!)}`,
        headers: auth,
      })
    ).json();
    assert.equal(byCustomer.data[0].id, lee.household_id);
  });

  test('a CDC event on Contact.AccountId moves the member at once, history kept', async () => {
    const minId = await customerOf(ids.min!);
    const before = (await membershipAt(hearth.hdb.db, minId))!;
    crm.updateFromUi(ids.min!, { AccountId: ids.kim! });
    const moved = await eventually(
      async () => {
        const m = await membershipAt(hearth.hdb.db, minId);
        return m && m.household_id !== before.household_id ? m : null;
      },
      10_000,
      'min moved',
    );
    const kim = await hearth.hdb.db
      .selectFrom('households')
      .select('id')
      .where('source_system', '=', 'salesforce')
      .where('external_id', '=', ids.kim!)
      .executeTakeFirstOrThrow();
    assert.equal(moved.household_id, kim.id);
    assert.equal(moved.role, 'member');
    const old = (await householdHistory(hearth.hdb.db, before.household_id)).filter((m) => m.customer_id === minId);
    assert.equal(old.length, 1);
    assert.notEqual(old[0]!.valid_to, null);
    crm.updateFromUi(ids.min!, { AccountId: null });
    await eventually(async () => (await membershipAt(hearth.hdb.db, minId)) === undefined, 10_000, 'min left');
  });

  test(
    'PUT /v1/customers/:id/household-opt-in updates the ' + 'membership and writes the checkbox back to Salesforce',
    async () => {
      const jayId = await customerOf(ids.jay!);
      const denied = await hearth.app.inject({
        method: 'PUT',
        url: `/v1/customers/${jayId}/household-opt-in`,
        headers: auth,
        payload: { opt_in: 'yes' },
      });
      assert.equal(denied.statusCode, 400);
      const res = await hearth.app.inject({
        method: 'PUT',
        url: `/v1/customers/${jayId}/household-opt-in`,
        headers: auth,
        payload: { opt_in: true },
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().points_aggregation_opt_in, true);
      assert.ok(res.json().writeback_job_id);
      assert.equal((await membershipAt(hearth.hdb.db, jayId))!.points_aggregation_opt_in, true);
      await settled();
      assert.equal(String(crm.getContact(ids.jay!)![OPT_IN]), 'true');
      assert.equal(crm.writes(ids.jay!), 1);
      // The CDC echo of our write is recognised and changes nothing: still one period opened by the API.
      await eventually(
        () =>
          hearth.hdb.db
            .selectFrom('inbox_events')
            .select('id')
            .where('connector', '=', 'salesforce')
            .where('status', '=', 'echo')
            .executeTakeFirst(),
        10_000,
        'the echo of our write',
      );
      const periods = (
        await householdHistory(hearth.hdb.db, (await membershipAt(hearth.hdb.db, jayId))!.household_id)
      ).filter((m) => m.customer_id === jayId);
      assert.equal(periods.length, 2);
      const again = await hearth.app.inject({
        method: 'PUT',
        url: `/v1/customers/${jayId}/household-opt-in`,
        headers: auth,
        payload: { opt_in: true },
      });
      assert.deepEqual([again.json().changed, again.json().writeback_job_id], [false, null]);
    },
  );

  test('bad input: unknown customer 404, no household 409, unknown connector 404', async () => {
    assert.equal(
      (
        await hearth.app.inject({
          method: 'PUT',
          url: '/v1/customers/cus_nope/household-opt-in',
          headers: auth,
          payload: { opt_in: true },
        })
      ).statusCode,
      404,
    );
    const minId = await customerOf(ids.min!);
    const none = await hearth.app.inject({
      method: 'PUT',
      url: `/v1/customers/${minId}/household-opt-in`,
      headers: auth,
      payload: { opt_in: true },
    });
    assert.equal(none.statusCode, 409);
    assert.match(none.json().error.message, /no household/);
    assert.equal(
      (await hearth.app.inject({ method: 'GET', url: '/v1/households/hh_nope', headers: auth })).statusCode,
      404,
    );
    assert.equal(
      (await hearth.app.inject({ method: 'GET', url: '/v1/households?customer_id=cus_nope', headers: auth }))
        .statusCode,
      404,
    );
    assert.equal(
      (await hearth.app.inject({ method: 'POST', url: '/v1/connectors/shopify/pull', headers: auth, payload: {} }))
        .statusCode,
      404,
    );
    assert.equal(
      (await hearth.app.inject({ method: 'POST', url: '/v1/connectors/hubspot/pull', headers: auth, payload: {} }))
        .statusCode,
      404,
    );
  });
  test('an AccountChangeEvent naming a new primary contact makes them head and the former head a member', async () => {
    const [leeId, minId] = [await customerOf(ids.lee!), await customerOf(ids.min!)];
    crm.updateFromUi(ids.min!, { AccountId: ids.park! });
    await eventually(
      async () => (await membershipAt(hearth.hdb.db, minId))?.role === 'member',
      10_000,
      'min back in the Park household',
    );
    const body = JSON.stringify({
      replayId: 990001,
      ChangeEventHeader: {
        entityName: 'Account',
        recordIds: [ids.park],
        changeType: 'UPDATE',
        changeOrigin: '',
        commitTimestamp: Date.now(),
        nulledFields: [],
        changedFields: ['npe01__One2OneContact__c'],
      },
      npe01__One2OneContact__c: ids.min,
    });
    const sig = createHmac('sha256', CDC_SECRET).update(body).digest('hex');
    const res = await hearth.app.inject({
      method: 'POST',
      url: '/webhooks/salesforce',
      headers: { 'content-type': 'application/json', 'x-hearth-signature': `sha256=${sig}` },
      payload: body,
    });
    assert.equal(res.statusCode, 200, res.body);
    await eventually(async () => (await membershipAt(hearth.hdb.db, minId))?.role === 'head', 10_000, 'min is head');
    const lee = (await membershipAt(hearth.hdb.db, leeId))!;
    assert.equal(lee.role, 'member');
    assert.equal(lee.household_id, (await membershipAt(hearth.hdb.db, minId))!.household_id);
    assert.equal(lee.points_aggregation_opt_in, true, 'consent is untouched by a role change');
  });
});
