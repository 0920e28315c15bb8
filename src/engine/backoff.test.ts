import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, settle } from './backoff.ts';

const policy = { max_attempts: 4, base_delay_ms: 100, max_delay_ms: 1000 };

test('backoff doubles per attempt, stays within [ceiling/2, ceiling] and is capped', () => {
  assert.equal(
    backoffDelay(1, policy, () => 0),
    50,
  );
  assert.equal(
    backoffDelay(1, policy, () => 1),
    100,
  );
  assert.equal(
    backoffDelay(3, policy, () => 1),
    400,
  );
  assert.equal(
    backoffDelay(10, policy, () => 1),
    1000,
  );
  assert.equal(
    backoffDelay(10, policy, () => 0),
    500,
  );
});

test('success settles as done', () => {
  assert.deepEqual(settle({ ok: true }, 1, policy, Math.random), { status: 'done' });
});

test('transient failures retry until the attempt budget, then dead-letter with the error kept', () => {
  const fail = { ok: false as const, kind: 'transient' as const, message: '503 upstream' };
  assert.equal(settle(fail, 3, policy, () => 0.5).status, 'retry');
  assert.deepEqual(
    settle(fail, 4, policy, () => 0.5),
    { status: 'dead', error: '503 upstream', kind: 'transient' },
  );
});

test('a 429 waits for Retry-After and gets a larger budget', () => {
  const limited = { ok: false as const, kind: 'rate_limited' as const, message: '429', retry_after_ms: 2000 };
  const s = settle(limited, 5, policy, () => 0);
  assert.deepEqual(s, { status: 'retry', delay_ms: 2000, error: '429', kind: 'rate_limited' });
  assert.equal(settle(limited, 12, policy, () => 0).status, 'dead');
});

test('invalid and not_found are dead at once; auth retries', () => {
  assert.equal(settle({ ok: false, kind: 'invalid', message: 'bad zip' }, 1, policy, Math.random).status, 'dead');
  assert.equal(settle({ ok: false, kind: 'not_found', message: 'no contact' }, 1, policy, Math.random).status, 'dead');
  assert.equal(settle({ ok: false, kind: 'auth', message: '401' }, 1, policy, Math.random).status, 'retry');
});
