import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hmacSha256 } from '../hmac.ts';
import { createWebhookConnector, signWebhook } from './index.ts';
import { kindOfStatus, retryAfter } from '../common/http.ts';

const job = (id: string) => ({
  id,
  kind: 'webhook.deliver',
  attempts: 1,
  payload: {
    target: 'loyalty',
    event: {
      id: `evt_${id}`,
      type: 'address.corrected',
      schema_version: 1,
      created_at: '2026-01-01T00:00:00.000Z',
      data: { x: 1 },
    },
  },
});

test('delivers signed JSON over HTTP and maps statuses to neutral kinds', async () => {
  const seen: { headers: Record<string, unknown>; body: string }[] = [];
  const statuses = [200, 429, 503, 400];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body });
      const status = statuses.shift()!;
      res.writeHead(status, status === 429 ? { 'retry-after': '7' } : {}).end('{"error":"x"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const connector = createWebhookConnector([{ name: 'loyalty', url, secret: 'whsec_12345678' }], {
    now: () => 1_700_000_000_000,
  });
  const results = [];
  for (const id of ['a', 'b', 'c', 'd']) results.push(...(await connector.outbound!.deliver([job(id)])));
  server.close();
  assert.deepEqual(
    results.map((r) => (r.ok ? 'ok' : r.kind)),
    ['ok', 'rate_limited', 'transient', 'invalid'],
  );
  assert.equal((results[1] as { retry_after_ms?: number }).retry_after_ms, 7000);
  const first = seen[0]!;
  const expected = `t=1700000000,v1=${hmacSha256('whsec_12345678', `1700000000.${first.body}`, 'hex')}`;
  assert.equal(first.headers['x-hearth-signature'], expected);
  assert.equal(first.headers['idempotency-key'], 'evt_a');
  assert.equal(first.headers['x-hearth-schema-version'], '1');
  assert.equal(JSON.parse(first.body).type, 'address.corrected');
});

test('posts to one receiver reuse a kept-alive connection; one the receiver closed meanwhile is replaced', async () => {
  let connections = 0;
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(200).end('ok');
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const connector = createWebhookConnector([{ name: 'loyalty', url, secret: 'whsec_12345678' }]);
  const deliver = async (ids: string[]) =>
    (await connector.outbound!.deliver(ids.map(job))).map((r) => (r.ok ? 'ok' : r.kind));
  assert.deepEqual(await deliver(['a']), ['ok']);
  assert.deepEqual(await deliver(['b']), ['ok']);
  assert.deepEqual(await deliver(['c']), ['ok']);
  assert.equal(connections, 1);
  // The receiver drops its idle connections: the next post goes out on a new one, and arrives.
  server.closeIdleConnections();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(await deliver(['d', 'e']), ['ok', 'ok']);
  server.close();
  assert.deepEqual(bodies.map((b) => JSON.parse(b).id).sort(), ['evt_a', 'evt_b', 'evt_c', 'evt_d', 'evt_e']);
  assert.ok(connections >= 2);
});

test('an unreachable receiver is a transient failure, an unknown target is invalid', async () => {
  const connector = createWebhookConnector(
    [{ name: 'loyalty', url: 'http://127.0.0.1:9/nothing', secret: 'whsec_12345678' }],
    { timeout_ms: 2000 },
  );
  const [r] = await connector.outbound!.deliver([job('x')]);
  assert.equal(r!.ok ? 'ok' : r!.kind, 'transient');
  const [u] = await connector.outbound!.deliver([{ ...job('y'), payload: { ...job('y').payload, target: 'nope' } }]);
  assert.equal(u!.ok ? 'ok' : u!.kind, 'invalid');
});

test('status and Retry-After helpers', () => {
  assert.equal(kindOfStatus(401), 'auth');
  assert.equal(kindOfStatus(410), 'not_found');
  assert.equal(kindOfStatus(408), 'transient');
  assert.deepEqual(
    retryAfter('3', () => 0),
    { retry_after_ms: 3000 },
  );
  assert.deepEqual(
    retryAfter(new Date(10_000).toUTCString(), () => 4000),
    { retry_after_ms: 6000 },
  );
  assert.deepEqual(
    retryAfter('soon', () => 0),
    {},
  );
  assert.match(signWebhook('s', '{}', 1), /^t=1,v1=[0-9a-f]{64}$/);
});
