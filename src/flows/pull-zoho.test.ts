import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startZohoSim, type ZohoSim } from '../../sim/zoho.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import type { Hearth } from '../runtime.ts';
import { ADMIN_KEY, eventually, startTestHearth } from '../../test-support/harness.ts';
import { membershipAt } from '../households/membership-store.ts';
import { STALE_PULL_MS } from './crm-pull.ts';

const auth = { authorization: `Bearer ${ADMIN_KEY}` };

describeEachDialect('household pull from Zoho (Account as household)', (ctx) => {
  let hearth: Hearth;
  let crm: ZohoSim;
  const ids: Record<string, string> = {};
  const customerOf = async (id: string) =>
    (
      await hearth.hdb.db
        .selectFrom('source_links')
        .select('customer_id')
        .where('system', '=', 'zoho')
        .where('external_id', '=', id)
        .executeTakeFirstOrThrow()
    ).customer_id;

  before(async () => {
    crm = await startZohoSim();
    ids.lee = crm.createAccount({ Account_Name: 'Lee Family', Account_Type: 'Household' });
    ids.shop = crm.createAccount({ Account_Name: 'Corner Shop', Account_Type: 'Customer' });
    ids.ann = crm.createContact({
      First_Name: 'Ann',
      Last_Name: 'Lee',
      Email: 'ann@lee.example',
      Account_Name: { id: ids.lee, name: 'Lee Family' },
      points_aggregation_opt_in: true,
    });
    ids.ben = crm.createContact({
      First_Name: 'Ben',
      Last_Name: 'Lee',
      Email: 'ben@lee.example',
      Account_Name: { id: ids.lee, name: 'Lee Family' },
      points_aggregation_opt_in: false,
    });
    ids.cy = crm.createContact({
      First_Name: 'Cy',
      Last_Name: 'Shop',
      Email: 'cy@shop.example',
      Account_Name: { id: ids.shop, name: 'Corner Shop' },
    });
    crm.updateAccount(ids.lee, { Primary_Contact: { id: ids.ann, name: 'Ann Lee' } });
    ({ hearth } = await startTestHearth(ctx, {
      connectors: { zoho: { access_token: crm.token, base_url: crm.url } },
      households: { source: 'zoho' },
    }));
  });
  after(async () => {
    await hearth.close();
    await crm.close();
  });

  test('pulls contacts through a 429, maps Account households and the primary contact as head', async () => {
    crm.faults.set({ rate_limit_next: 1, retry_after_s: 0 });
    const res = await hearth.app.inject({
      method: 'POST',
      url: '/v1/connectors/zoho/pull',
      headers: auth,
      payload: { page_size: 2 },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(
      [res.json().status, res.json().pages, res.json().contacts, res.json().members_changed],
      ['done', 2, 3, 2],
    );
    const ann = (await membershipAt(hearth.hdb.db, await customerOf(ids.ann!)))!;
    const ben = (await membershipAt(hearth.hdb.db, await customerOf(ids.ben!)))!;
    assert.equal(ann.household_id, ben.household_id);
    assert.deepEqual(
      [ann.role, ann.points_aggregation_opt_in, ben.role, ben.points_aggregation_opt_in],
      ['head', true, 'member', false],
    );
    assert.equal(
      await membershipAt(hearth.hdb.db, await customerOf(ids.cy!)),
      undefined,
      'a Customer-type account is not a household',
    );
    const view = (
      await hearth.app.inject({ method: 'GET', url: `/v1/households/${ann.household_id}`, headers: auth })
    ).json();
    assert.deepEqual([view.name, view.source_system, view.external_id], ['Lee Family', 'zoho', ids.lee]);
    const pulls = (await hearth.app.inject({ method: 'GET', url: '/v1/connectors/zoho/pulls', headers: auth })).json()
      .data;
    assert.equal(pulls[0].status, 'done');
    assert.equal(pulls[0].cursor, null);
  });

  test('the opt-in API writes the field back to Zoho', async () => {
    const benId = await customerOf(ids.ben!);
    const res = await hearth.app.inject({
      method: 'PUT',
      url: `/v1/customers/${benId}/household-opt-in`,
      headers: auth,
      payload: { opt_in: true },
    });
    assert.equal(res.statusCode, 200, res.body);
    await eventually(
      async () => crm.getContact(ids.ben!)!.points_aggregation_opt_in === true,
      10_000,
      'written to Zoho',
    );
    assert.equal(crm.writes(ids.ben!), 1);
    assert.equal((await membershipAt(hearth.hdb.db, benId))!.points_aggregation_opt_in, true);
  });
  test('a pull that fails mid-way (a 429 too long to wait out) resumes after its last committed page', async () => {
    const first = await hearth.app.inject({
      method: 'POST',
      url: '/v1/connectors/zoho/pull',
      headers: auth,
      payload: { restart: true, page_size: 1, max_pages: 1 },
    });
    assert.equal(first.json().status, 'paused');
    crm.faults.set({ rate_limit_next: 1, retry_after_s: 120 });
    const failed = await hearth.app.inject({
      method: 'POST',
      url: '/v1/connectors/zoho/pull',
      headers: auth,
      payload: { page_size: 1 },
    });
    assert.equal(failed.statusCode, 502);
    assert.equal(failed.json().error.details.kind, 'rate_limited');
    const row = (await hearth.app.inject({ method: 'GET', url: '/v1/connectors/zoho/pulls', headers: auth })).json()
      .data[0];
    assert.deepEqual([row.id, row.status, row.pages, row.cursor], [first.json().pull_id, 'failed', 1, '2']);
    const resumed = (
      await hearth.app.inject({
        method: 'POST',
        url: '/v1/connectors/zoho/pull',
        headers: auth,
        payload: { page_size: 1 },
      })
    ).json();
    assert.deepEqual(
      [resumed.pull_id, resumed.resumed, resumed.status, resumed.pages, resumed.contacts],
      [first.json().pull_id, true, 'done', 3, 3],
    );
  });
  test('a pull that is alive is not joined (409); one whose process died is resumed', async () => {
    const last = await hearth.hdb.db
      .selectFrom('household_pulls')
      .selectAll()
      .where('connector', '=', 'zoho')
      .orderBy('started_at', 'desc')
      .executeTakeFirstOrThrow();
    await hearth.hdb.db
      .updateTable('household_pulls')
      .set({ status: 'running', cursor: '9', updated_at: Date.now() })
      .where('id', '=', last.id)
      .execute();
    const busy = await hearth.app.inject({
      method: 'POST',
      url: '/v1/connectors/zoho/pull',
      headers: auth,
      payload: {},
    });
    assert.equal(busy.statusCode, 409);
    assert.match(busy.json().error.message, /is running/);
    assert.equal(
      (
        await hearth.app.inject({
          method: 'POST',
          url: '/v1/connectors/zoho/pull',
          headers: auth,
          payload: { restart: true },
        })
      ).statusCode,
      409,
    );
    await hearth.hdb.db
      .updateTable('household_pulls')
      .set({ updated_at: Date.now() - STALE_PULL_MS - 1000 })
      .where('id', '=', last.id)
      .execute();
    const resumed = await hearth.app.inject({
      method: 'POST',
      url: '/v1/connectors/zoho/pull',
      headers: auth,
      payload: {},
    });
    assert.deepEqual([resumed.statusCode, resumed.json().pull_id, resumed.json().status], [200, last.id, 'done']);
  });
});
