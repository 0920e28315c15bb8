import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { parseConfig } from '../config/loader.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { createLogger } from '../log.ts';
import { createMetrics } from '../metrics.ts';
import { buildApp } from './app.ts';

const ADMIN = 'hk_bootstrap_admin';

describeEachDialect('HTTP API: auth, roles, errors, ops endpoints', (ctx) => {
  let app: FastifyInstance;
  before(async () => {
    const config = parseConfig({ log: { level: 'silent' } }, { HEARTH_API_KEY: ADMIN });
    app = await buildApp({
      strictResponses: true,
      config,
      hdb: ctx.hdb(),
      connectors: {},
      metrics: createMetrics(),
      logger: createLogger('silent'),
    });
  });
  after(() => app.close());
  const as = (key: string) => ({ authorization: `Bearer ${key}` });

  test('/v1 needs a key: none or unknown is 401 with a JSON reason', async () => {
    const none = await app.inject({ method: 'GET', url: '/v1/jobs' });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().error.code, 'unauthorized');
    assert.equal((await app.inject({ method: 'GET', url: '/v1/jobs', headers: as('hk_nope') })).statusCode, 401);
  });

  test('the bootstrap admin creates keys; roles are enforced; revoked keys stop working', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: as(ADMIN),
      payload: { name: 'support desk', role: 'readonly' },
    });
    assert.equal(created.statusCode, 201);
    const { id, key } = created.json();
    assert.match(key, /^hk_/);
    const stored = await ctx
      .hdb()
      .db.selectFrom('api_keys')
      .select('key_hash')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    assert.notEqual(stored.key_hash, key, 'only the hash is stored');
    assert.equal((await app.inject({ method: 'GET', url: '/v1/jobs', headers: as(key) })).statusCode, 200);
    const forbidden = await app.inject({ method: 'POST', url: '/v1/jobs/job_x/retry', headers: as(key) });
    assert.equal(forbidden.statusCode, 403);
    assert.match(forbidden.json().error.message, /operator role/);
    assert.equal(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/api-keys',
          headers: as(key),
          payload: { name: 'x', role: 'admin' },
        })
      ).statusCode,
      403,
    );
    assert.equal(
      (await app.inject({ method: 'DELETE', url: `/v1/api-keys/${id}`, headers: as(ADMIN) })).statusCode,
      200,
    );
    assert.equal((await app.inject({ method: 'GET', url: '/v1/jobs', headers: as(key) })).statusCode, 401);
  });

  test('validation errors name the field; unknown ids are 404', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: as(ADMIN),
      payload: { name: 'x', role: 'root' },
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error.message, /body\.role/);
    const missing = await app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: as(ADMIN),
      payload: { role: 'admin' },
    });
    assert.match(missing.json().error.details?.field, /name/, missing.body);
    const status = await app.inject({ method: 'GET', url: '/v1/jobs?status=bogus', headers: as(ADMIN) });
    assert.equal(status.statusCode, 400);
    assert.equal(
      (await app.inject({ method: 'GET', url: '/v1/customers/cus_missing', headers: as(ADMIN) })).statusCode,
      404,
    );
    assert.equal(
      (await app.inject({ method: 'GET', url: '/v1/jobs/job_missing', headers: as(ADMIN) })).statusCode,
      404,
    );
    const route = await app.inject({ method: 'GET', url: '/nowhere' });
    assert.equal(route.statusCode, 404);
    assert.equal(route.json().error.code, 'not_found');
  });

  test('health, readiness, metrics and the OpenAPI document', async () => {
    assert.deepEqual((await app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
    assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).json().status, 'ready');
    assert.equal((await app.inject({ method: 'GET', url: '/no-such-page' })).statusCode, 404);
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /# TYPE hearth_writeback_lag_seconds histogram/);
    assert.match(metrics.body, /# TYPE hearth_outbox_jobs gauge/);
    // Prometheus conventions: process metrics, request durations per route pattern, ratios named *_ratio.
    assert.match(metrics.body, /^process_cpu_seconds_total /m);
    assert.match(metrics.body, /^nodejs_eventloop_lag_seconds /m);
    assert.match(
      metrics.body,
      /hearth_http_request_duration_seconds_count\{method="GET",route="\/readyz",status_code="200"\} 1/,
    );
    assert.match(metrics.body, /hearth_http_request_duration_seconds_count\{[^}]*route="\(unmatched\)"/);
    assert.match(metrics.body, /# TYPE hearth_loyalty_manual_adjustment_ratio gauge/);
    assert.doesNotMatch(metrics.body, /^hearth_\w+_rate[{ ]/m);
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    assert.equal(doc.openapi.startsWith('3.'), true);
    for (const path of [
      '/webhooks/{connector}',
      '/v1/customers/{id}',
      '/v1/jobs',
      '/v1/jobs/{id}/retry',
      '/v1/writeback/late',
    ]) {
      assert.ok(doc.paths[path], `${path} documented`);
    }
    const html = await app.inject({ method: 'GET', url: '/' });
    assert.match(html.body, /Hearth/);
  });
});
