import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../config/loader.ts';
import { HearthError } from '../errors.ts';

test('reconcile config: defaults heal addresses, review phones, report names; off unless scheduled', () => {
  assert.deepEqual(parseConfig({}).reconcile, {
    schedule_minutes: 0,
    page_size: 100,
    policies: { address: 'heal', phone: 'review', given_name: 'report', family_name: 'report', email: 'report' },
  });
  const custom = parseConfig({
    reconcile: { schedule_minutes: 30, page_size: 500, policies: { address: 'review', phone: 'report' } },
  }).reconcile;
  assert.deepEqual(
    [
      custom.schedule_minutes,
      custom.page_size,
      custom.policies.address,
      custom.policies.phone,
      custom.policies.given_name,
    ],
    [30, 500, 'review', 'report', 'report'],
  );
});

test('reconcile config: heal on a field without a corrective write, or a bad policy, is refused with its path', () => {
  const refused = (raw: unknown, path: RegExp) =>
    assert.throws(
      () => parseConfig(raw),
      (e: unknown) => e instanceof HearthError && e.code === 'invalid_config' && path.test(e.message),
    );
  refused(
    { reconcile: { policies: { email: 'heal' } } },
    /^config reconcile\.policies: heal is not supported for email/,
  );
  refused({ reconcile: { policies: { address: 'fix' } } }, /^config reconcile\.policies\.address/);
  refused({ reconcile: { page_size: 0 } }, /^config reconcile\.page_size/);
});
