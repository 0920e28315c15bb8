import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { parseConfig } from '../../config/loader.ts';
import type { InboundEvent } from '../../canonical/types.ts';
import { describeEachDialect } from '../../../test-support/dialects.ts';
import { createLogger } from '../../log.ts';
import { createMetrics } from '../../metrics.ts';
import { engineContext } from '../../runtime.ts';
import { createEventApplier } from '../../flows/apply-events.ts';
import { applyPendingEvents } from '../../engine/apply-loop.ts';
import { storeDeliveries } from '../../engine/inbox.ts';
import { buildApp } from '../app.ts';
import { createApiKey } from '../auth.ts';

const ADMIN = 'hk_identity_routes_admin';
const T0 = Date.UTC(2026, 2, 1);
const address = { line1: '31 Walnut St', city: 'Springfield', region: 'IL', postal_code: '62707', country: 'US' };
const events: [string, InboundEvent][] = [
  [
    'hubspot',
    {
      delivery_id: 'c-1',
      event: {
        type: 'contact.updated',
        source: 'hubspot',
        external_id: 'h-1',
        contact: { given_name: 'Robert', family_name: 'Nakamura', email: 'rnakamura@example.com', address },
        vendor_fields: {},
        origin_is_hearth: false,
        occurred_at: T0,
      },
    },
  ],
  [
    'shopify',
    {
      delivery_id: 's-1',
      event: {
        type: 'checkout.address_confirmed',
        source: 'shopify',
        external_id: 's-1',
        contact: { given_name: 'Bob', family_name: 'Nakamura', email: 'bob.n@example.org' },
        address: { ...address, line1: '31 Walnut Street' },
        order_id: 'o-1',
        occurred_at: T0,
      },
    },
  ],
];

describeEachDialect('review queue and unmerge API', (ctx) => {
  let app: FastifyInstance;
  let operator: string;
  let readonly: string;
  const call = (method: 'GET' | 'POST', url: string, key: string, payload?: unknown) =>
    app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}` },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  before(async () => {
    const hdb = ctx.hdb();
    const config = parseConfig({ database: 'sqlite::memory:', log: { level: 'silent' } }, { HEARTH_API_KEY: ADMIN });
    app = await buildApp({
      strictResponses: true,
      config,
      hdb,
      connectors: {},
      metrics: createMetrics(),
      logger: createLogger('silent'),
      now: () => T0 + 5000,
    });
    operator = (await createApiKey(hdb.db, 'op', 'operator', T0)).key;
    readonly = (await createApiKey(hdb.db, 'ro', 'readonly', T0)).key;
    for (const [connector, ev] of events) {
      await storeDeliveries(hdb.db, connector, [ev], T0);
      await applyPendingEvents(hdb, createEventApplier(engineContext(config)), 100, () => T0 + 1000);
    }
  });
  after(() => app.close());

  test('GET /v1/review lists the pending match with both records and the weight of each field', async () => {
    const res = await call('GET', '/v1/review?kind=match', readonly);
    assert.equal(res.statusCode, 200);
    const [item, ...rest] = res.json().data;
    assert.equal(rest.length, 0);
    assert.equal(item.status, 'pending');
    assert.deepEqual(
      item.customers.map((c: { given_name: string; source_records: { system: string }[] }) => [
        c.given_name,
        c.source_records.map((s) => s.system),
      ]),
      [
        ['Robert', ['hubspot']],
        ['Bob', ['shopify']],
      ],
    );
    const fields = Object.fromEntries(
      item.explanation.fields.map((f: { field: string; level: string; weight: number }) => [f.field, f]),
    );
    assert.equal(fields.given_name.level, 'close');
    assert.equal(fields.family_name.level, 'exact');
    assert.ok(fields.family_name.weight > 0);
    assert.equal(fields.phone.level, 'missing');
    assert.ok(item.score >= 0.6 && item.score < 0.95);
  });

  test('GET /v1/review?kind=household_suggestion proposes the people sharing the address and family name', async () => {
    const res = await call('GET', '/v1/review?kind=household_suggestion', readonly);
    assert.equal(res.statusCode, 200);
    const [item] = res.json().data;
    assert.equal(item.kind, 'household_suggestion');
    assert.deepEqual(
      item.customers.map((c: { family_name: string }) => c.family_name),
      ['Nakamura', 'Nakamura'],
    );
    assert.equal(item.explanation.family_name, 'Nakamura');
  });

  test('bad input is a 4xx JSON error; deciding needs the operator role', async () => {
    const item = (await call('GET', '/v1/review?kind=match', readonly)).json().data[0];
    const bad = await call('POST', `/v1/review/${item.id}`, operator, { decision: 'maybe' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'bad_request');
    assert.equal((await call('GET', '/v1/review?kind=nope', readonly)).statusCode, 400);
    const forbidden = await call('POST', `/v1/review/${item.id}`, readonly, { decision: 'link' });
    assert.equal(forbidden.statusCode, 403);
    const missing = await call('POST', '/v1/review/rev_missing', operator, { decision: 'link' });
    assert.equal(missing.statusCode, 404);
    assert.equal((await call('POST', '/v1/customers/cus_missing/unmerge', operator)).statusCode, 404);
  });

  test('link merges the pair; deciding twice is 409; unmerge restores both; unmerging twice is 409', async () => {
    const item = (await call('GET', '/v1/review?kind=match', readonly)).json().data[0];
    const [robert, bob] = item.customers as { id: string }[];
    assert.equal(
      (
        await call('POST', '/v1/loyalty/adjustments', operator, {
          account_id: bob!.id,
          customer_id: bob!.id,
          points: 40,
          reason: 'goodwill',
        })
      ).statusCode,
      201,
    );
    const linked = await call('POST', `/v1/review/${item.id}`, operator, { decision: 'link' });
    assert.equal(linked.statusCode, 200);
    assert.equal(linked.json().status, 'linked');
    assert.match(linked.json().merge_id, /^mrg_/);
    assert.match(linked.json().decided_by, /^operator:key_/);
    const again = await call('POST', `/v1/review/${item.id}`, operator, { decision: 'not_a_match' });
    assert.equal(again.statusCode, 409);
    const viaBob = (await call('GET', `/v1/customers/${bob!.id}`, readonly)).json();
    assert.equal(viaBob.id, robert!.id, 'the merged id resolves to the survivor');
    assert.deepEqual(viaBob.source_records.map((s: { system: string }) => s.system).sort(), ['hubspot', 'shopify']);
    assert.equal(viaBob.points_balance, 40, "the merged customer's points follow them to the survivor");

    const unmerged = await call('POST', `/v1/customers/${bob!.id}/unmerge`, operator);
    assert.equal(unmerged.statusCode, 200);
    assert.deepEqual(
      unmerged.json().customers.map((c: { id: string; merged_into: string | null }) => [c.id, c.merged_into]),
      [
        [robert!.id, null],
        [bob!.id, null],
      ],
    );
    const bobAgain = (await call('GET', `/v1/customers/${bob!.id}`, readonly)).json();
    assert.deepEqual(
      bobAgain.source_records.map((s: { system: string }) => s.system),
      ['shopify'],
    );
    assert.equal(unmerged.json().points_returned, 40);
    assert.equal(bobAgain.points_balance, 40);
    assert.equal((await call('GET', `/v1/customers/${robert!.id}`, readonly)).json().points_balance, 0);
    assert.equal((await call('POST', `/v1/customers/${bob!.id}/unmerge`, operator)).statusCode, 409);
    assert.equal((await call('POST', `/v1/customers/${bob!.id}/unmerge`, readonly)).statusCode, 403);
  });

  test('not_a_match closes a household suggestion for good', async () => {
    const item = (await call('GET', '/v1/review?kind=household_suggestion', readonly)).json().data[0];
    const res = await call('POST', `/v1/review/${item.id}`, operator, { decision: 'not_a_match' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().status, 'not_a_match');
    assert.deepEqual((await call('GET', '/v1/review?kind=household_suggestion', readonly)).json().data, []);
    const decided = await call('GET', '/v1/review?kind=household_suggestion&status=not_a_match', readonly);
    assert.equal(decided.json().data.length, 1);
  });
});
