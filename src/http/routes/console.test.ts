import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { parseConfig } from '../../config/loader.ts';
import { describeEachDialect } from '../../../test-support/dialects.ts';
import { claimJobs, enqueueJobs, markDone } from '../../engine/jobs.ts';
import { createLogger } from '../../log.ts';
import { createMetrics } from '../../metrics.ts';
import type { components } from '../../console/api-types.ts';
import { buildApp } from '../app.ts';

type Schemas = components['schemas'];
const KEY = 'hk_console_routes_test';
const auth = { authorization: `Bearer ${KEY}` };
const T = Date.UTC(2026, 11, 1, 12, 0, 0);

describeEachDialect('console routes: field owners, write-back lag and SLO', (ctx) => {
  let app: FastifyInstance;
  before(async () => {
    const config = parseConfig(
      {
        log: { level: 'silent' },
        writeback: { sync_window_seconds: 60 },
        ownership: { email: ['hubspot', 'shopify'] },
      },
      { HEARTH_API_KEY: KEY },
    );
    const { db, caps } = ctx.hdb();
    await db
      .insertInto('customers')
      .values({
        id: 'cus_f1',
        given_name: 'Ana',
        family_name: 'Diaz',
        email: 'ana@example.com',
        email_normalized: 'ana@example.com',
        address_line1: '1 Main St',
        city: 'Chicago',
        region: 'IL',
        postal_code: '60614',
        address_source: 'shopify',
        field_sources: JSON.stringify({ email: 'shopify', address: 'shopify' }),
        version: 2,
        created_at: T - 3_600_000,
        updated_at: T - 60_000,
      })
      .execute();
    await db
      .insertInto('change_lineage')
      .values({
        id: 'lin_f1',
        customer_id: 'cus_f1',
        source_system: 'shopify',
        actor: 'checkout',
        event_id: null,
        changed_at: T - 60_000,
        changes: JSON.stringify([['city', 'Springfield', 'Chicago']]),
      })
      .execute();
    // Three write-backs done at T-50 min, T-30 min (late: 90 s) and T-10 min.
    for (const [i, [doneAgoMin, lagS]] of [
      [50, 2],
      [30, 90],
      [10, 20],
    ].entries()) {
      const done = T - doneAgoMin! * 60_000;
      const origin = done - lagS! * 1000;
      await enqueueJobs(
        db,
        [
          {
            target: 'hubspot',
            kind: 'crm.address_write',
            job_key: `k${i}`,
            payload: {},
            origin_at: origin,
            customer_id: 'cus_f1',
          },
        ],
        3,
        origin,
      );
      const [job] = await claimJobs(db, caps, { target: 'hubspot', limit: 1, worker_id: 'w', now: done, lease_ms: 1 });
      await markDone(db, job!.id, done);
    }
    app = await buildApp({
      strictResponses: true,
      config,
      hdb: ctx.hdb(),
      connectors: {},
      metrics: createMetrics(),
      logger: createLogger('silent'),
      now: () => T,
    });
  });
  after(() => app.close());

  test('GET /v1/customers/:id/fields: value, owner under the policy, who set it, last change', async () => {
    const res = await app.inject({ url: '/v1/customers/cus_f1/fields', headers: auth });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as Schemas['CustomerFields'];
    const email = body.data.find((f) => f.field === 'email')!;
    assert.equal(email.owner, 'hubspot', 'the first source in the configured precedence');
    assert.deepEqual(email.precedence, ['hubspot', 'shopify']);
    assert.equal(email.set_by, 'shopify');
    assert.equal(email.changed_at, null, 'no logged change of the e-mail');
    const address = body.data.find((f) => f.field === 'address')!;
    assert.equal(address.value, '1 Main St, Chicago, IL, 60614');
    assert.equal(address.changed_at, new Date(T - 60_000).toISOString(), 'a change of the city is an address change');
    assert.equal(address.changed_by, 'shopify / checkout');
    const missing = await app.inject({ url: '/v1/customers/cus_nobody/fields', headers: auth });
    assert.equal(missing.statusCode, 404);
  });

  test('GET /v1/writeback/lag: histogram, share within the window per bucket', async () => {
    const res = await app.inject({ url: '/v1/writeback/lag?hours=1&bucket_seconds=1800', headers: auth });
    assert.equal(res.statusCode, 200, res.body);
    const lag = res.json() as Schemas['WritebackLag'];
    assert.equal(lag.sync_window_seconds, 60);
    const count = (le: number | null) => lag.histogram.find((b) => b.le_seconds === le)!.count;
    assert.deepEqual([count(5), count(30), count(120)], [1, 1, 1]);
    assert.equal(
      lag.histogram.reduce((n, b) => n + b.count, 0),
      3,
    );
    assert.deepEqual(
      lag.data.map((b) => [b.at, b.done, b.within_window]),
      [
        [new Date(T - 3_600_000).toISOString(), 1, 1],
        [new Date(T - 1_800_000).toISOString(), 2, 1],
      ],
    );
    assert.equal(lag.data[1]!.ratio, 0.5);
    assert.equal(lag.data[1]!.max_lag_seconds, 90);
    const bad = await app.inject({ url: '/v1/writeback/lag?bucket_seconds=5', headers: auth });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error.message, /bucket_seconds/);
  });
});
