import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { startHubSpotSim, type HubSpotSim } from '../../sim/hubspot.ts';
import { buildOrder, sendShopifyWebhook } from '../../sim/shopify.ts';
import type { Hearth } from '../runtime.ts';
import { eventually, SHOPIFY_SECRET, startTestHearth } from '../../test-support/harness.ts';

describeEachDialect('write-back under vendor faults', (ctx) => {
  let hearth: Hearth;
  let crm: HubSpotSim;
  const ship = (n: number, email: string, address1: string) =>
    sendShopifyWebhook(
      `${hearth.url}/webhooks/shopify`,
      'orders/create',
      buildOrder({
        order_id: 500 + n,
        customer_id: 700 + n,
        email,
        first_name: 'Ana',
        last_name: 'Diaz',
        address1,
        address2: null,
        city: 'Chicago',
        province_code: 'IL',
        zip: '60614',
      }),
      SHOPIFY_SECRET,
      `wf-${n}`,
    );
  const jobOf = (email: string) =>
    ctx
      .hdb()
      .db.selectFrom('jobs')
      .selectAll()
      .where('kind', '=', 'crm.address_write')
      .where('payload', 'like', `%${email}%`)
      .executeTakeFirst();

  before(async () => {
    crm = await startHubSpotSim();
    ({ hearth } = await startTestHearth(ctx, {
      connectors: { hubspot: { access_token: crm.token, base_url: crm.url, timeout_ms: 120_000 } },
      writeback: { crm: 'hubspot', sync_window_seconds: 60 },
      jobs: { max_attempts: 50, base_delay_ms: 20, max_delay_ms: 200, lease_seconds: 30, poll_interval_ms: 20 },
    }));
  });
  after(async () => {
    await hearth.close();
    await crm.close();
  });

  test("one contact's hung call does not hold up another contact's correction", async () => {
    const stalled = crm.createContact({ email: 'stall@example.com', address: '1 Elm St', city: 'Springfield' });
    const quick = crm.createContact({ email: 'quick@example.com', address: '2 Elm St', city: 'Springfield' });
    crm.faults.set({ hang_if_body_includes: 'stall@example.com' });
    assert.equal((await ship(1, 'stall@example.com', '10 Oak St')).status, 200);
    await eventually(async () => crm.hung > 0, 10_000, 'the stalled request');
    assert.equal((await ship(2, 'quick@example.com', '20 Oak St')).status, 200);
    await eventually(async () => crm.getContact(quick)!.properties.address === '20 Oak St', 10_000, 'quick write');
    assert.notEqual((await jobOf('stall@example.com'))?.status, 'done', 'the stalled contact is still not written');
    assert.equal(crm.getContact(stalled)!.properties.address, '1 Elm St');
    // The vendor drops the hung call and answers again: the job's retry lands.
    crm.faults.set({});
    crm.releaseHung();
    await eventually(async () => crm.getContact(stalled)!.properties.address === '10 Oak St', 15_000, 'stalled write');
    const job = await eventually(async () => {
      const j = await jobOf('stall@example.com');
      return j?.status === 'done' ? j : null;
    });
    assert.ok(job.attempts >= 2, 'the hung attempt failed and was retried');
  });
});
