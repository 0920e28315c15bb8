import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHttpClient, createTokenCache, tokenOf, withToken, type IdpFetch } from './http.ts';

const reply = (status: number, body: string, headers: Record<string, string> = {}) => ({
  status,
  headers: { get: (n: string) => headers[n.toLowerCase()] ?? null },
  text: async () => body,
});

test(
  '429 without Retry-After uses X-RateLimit-Reset ' + '(epoch seconds); errors keep the path, not the query',
  async () => {
    const calls: string[] = [];
    const fetch: IdpFetch = async (url) => {
      calls.push(url);
      return reply(429, '{"message":"Global limit has been reached"}', { 'x-ratelimit-reset': '1700000007' });
    };
    const http = createHttpClient('auth0', { fetch, now: () => 1_700_000_000_000 });
    const r = await http.request('GET', 'https://t.auth0.com/api/v2/users-by-email?email=jane%40example.com');
    assert.deepEqual(r.ok ? null : [r.kind, r.retry_after_ms], ['rate_limited', 7000]);
    assert.doesNotMatch(r.ok ? '' : r.message, /jane/);
    assert.equal(calls.length, 1);
  },
);

test('a network error is transient; an empty 204 body is null', async () => {
  const failing = createHttpClient('scim', {
    fetch: async () => {
      throw new Error('connect ECONNREFUSED');
    },
  });
  const r = await failing.request('PATCH', 'http://127.0.0.1:9/Users/1');
  assert.equal(r.ok ? 'ok' : r.kind, 'transient');
  const empty = createHttpClient('keycloak', { fetch: async () => reply(204, '') });
  assert.deepEqual(await empty.request('PUT', 'http://kc/admin/realms/x/users/1'), { ok: true, value: null });
});

test('the token cache renews before expiry and shares one fetch between concurrent callers', async () => {
  let clock = 0;
  let fetched = 0;
  const cache = createTokenCache(
    async () => {
      fetched++;
      return { ok: true, value: { token: `t${fetched}`, expires_in: 300 } };
    },
    () => clock,
  );
  const [a, b] = await Promise.all([cache.get(), cache.get()]);
  assert.deepEqual([a, b, fetched], [{ ok: true, value: 't1' }, { ok: true, value: 't1' }, 1]);
  clock = 269_000;
  assert.deepEqual(await cache.get(), { ok: true, value: 't1' });
  clock = 275_000; // inside the last 10% of the lifetime
  assert.deepEqual(await cache.get(), { ok: true, value: 't2' });
});

test('withToken retries once with a fresh token after an auth failure', async () => {
  let n = 0;
  const cache = createTokenCache(
    async () => ({ ok: true, value: { token: `t${++n}`, expires_in: 3600 } }),
    () => 0,
  );
  const seen: string[] = [];
  const r = await withToken(cache, async (t) => {
    seen.push(t);
    return t === 't1' ? { ok: false, kind: 'auth', message: '401' } : { ok: true, value: t };
  });
  assert.deepEqual([r, seen], [{ ok: true, value: 't2' }, ['t1', 't2']]);
  assert.equal(tokenOf('x', { nope: 1 }).ok, false);
});
