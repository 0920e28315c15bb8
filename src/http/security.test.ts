import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { signShopifyDelivery } from '../../sim/shopify.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { ADMIN_KEY, SHOPIFY_SECRET, startTestHearth } from '../../test-support/harness.ts';
import { createApiKey } from './auth.ts';
import type { Hearth } from '../runtime.ts';

// Issue 10, finding 7: no security headers, no CORS policy, no rate limit on the API.
describeEachDialect('HTTP hardening: headers, rate limit per key, CORS, body limits', (ctx) => {
  let hearth: Hearth;
  let open: Hearth;
  let other: string;
  const as = (key: string) => ({ authorization: `Bearer ${key}` });

  before(async () => {
    const server = { host: '127.0.0.1', port: 0, body_limit_bytes: 1_048_576, api_body_limit_bytes: 2048 };
    ({ hearth } = await startTestHearth(ctx, { server: { ...server, rate_limit_per_minute: 5 } }));
    ({ hearth: open } = await startTestHearth(ctx, { server: { ...server, cors_origins: ['https://ops.example'] } }));
    other = (await createApiKey(ctx.hdb().db, 'other', 'readonly', Date.now())).key;
  });
  after(async () => {
    await hearth.close();
    await open.close();
  });

  test('the console and the API answer with CSP, no framing, nosniff, no-referrer and no-store', async () => {
    const page = await hearth.app.inject({ method: 'GET', url: '/' });
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
    assert.equal(page.headers['cache-control'], 'no-store');
    const api = await hearth.app.inject({
      method: 'GET',
      url: '/v1/customers?email=a@example.com',
      headers: as(other),
    });
    assert.equal(api.statusCode, 200);
    assert.equal(api.headers['cache-control'], 'no-store');
  });

  test('past the per-key limit: 429 + Retry-After; other keys and webhooks are not limited', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 7; i++)
      codes.push((await hearth.app.inject({ method: 'GET', url: '/v1/jobs', headers: as(ADMIN_KEY) })).statusCode);
    assert.deepEqual(codes, [200, 200, 200, 200, 200, 429, 429]);
    const limited = await hearth.app.inject({ method: 'GET', url: '/v1/jobs', headers: as(ADMIN_KEY) });
    assert.equal(limited.json().error.code, 'rate_limited');
    assert.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After in seconds');
    assert.equal((await hearth.app.inject({ method: 'GET', url: '/v1/jobs', headers: as(other) })).statusCode, 200);
    for (let i = 0; i < 10; i++) {
      const d = signShopifyDelivery('products/update', { id: i }, SHOPIFY_SECRET, `rl-${i}`);
      const res = await hearth.app.inject({
        method: 'POST',
        url: '/webhooks/shopify',
        headers: d.headers,
        payload: d.body,
      });
      assert.equal(res.statusCode, 200);
    }
  });

  test('CORS is off by default and allows only the configured origins', async () => {
    const preflight = {
      method: 'OPTIONS' as const,
      url: '/v1/jobs',
      headers: { origin: 'https://ops.example', 'access-control-request-method': 'GET' },
    };
    assert.equal((await hearth.app.inject(preflight)).headers['access-control-allow-origin'], undefined);
    const allowed = await open.app.inject(preflight);
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://ops.example');
    const stranger = await open.app.inject({
      ...preflight,
      headers: { ...preflight.headers, origin: 'https://evil.example' },
    });
    assert.equal(stranger.headers['access-control-allow-origin'], undefined);
  });

  test('the API has its own, smaller body limit than webhooks', async () => {
    const big = { name: 'x'.repeat(4096), role: 'readonly' };
    const res = await open.app.inject({ method: 'POST', url: '/v1/api-keys', headers: as(ADMIN_KEY), payload: big });
    assert.equal(res.statusCode, 413);
    const d = signShopifyDelivery('products/update', { id: 1, body_html: 'x'.repeat(100_000) }, SHOPIFY_SECRET, 'big');
    const hook = await open.app.inject({
      method: 'POST',
      url: '/webhooks/shopify',
      headers: d.headers,
      payload: d.body,
    });
    assert.equal(hook.statusCode, 200);
  });
});
