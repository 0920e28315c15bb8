import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CODES, HearthError, errorBody } from './errors.ts';

test('every error code has a documented message and a 4xx/5xx status', () => {
  for (const [code, entry] of Object.entries(ERROR_CODES)) {
    assert.ok(entry.doc.length > 10, `${code} is undocumented`);
    assert.ok(entry.status >= 400 && entry.status < 600, `${code} has status ${entry.status}`);
  }
});

test('HearthError carries its code, status and a snake_case body', () => {
  const err = new HearthError('not_found', 'customer cus_1 not found', { customer_id: 'cus_1' });
  assert.equal(err.status, 404);
  assert.deepEqual(errorBody(err), {
    error: { code: 'not_found', message: 'customer cus_1 not found', details: { customer_id: 'cus_1' } },
  });
});
