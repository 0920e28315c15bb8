import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../config/loader.ts';
import { decideOwnership } from '../customers/ownership.ts';
import { HearthError } from '../errors.ts';

test('ownership config takes billing fields and N systems per field (the issue example)', () => {
  const c = parseConfig({
    ownership: {
      billing_address: ['stripe'],
      address: ['shopify', 'api', 'hubspot', 'salesforce', 'zendesk'],
      phone: ['hubspot', 'zendesk', 'stripe', 'shopify'],
    },
  });
  assert.deepEqual(c.ownership.billing_address, ['stripe']);
  assert.deepEqual(c.ownership.address, ['shopify', 'api', 'hubspot', 'salesforce', 'zendesk']);
  assert.deepEqual(c.ownership.phone, ['hubspot', 'zendesk', 'stripe', 'shopify']);
  // Support is projected the billing status and may not set it; Stripe may.
  assert.equal(decideOwnership(c.ownership, 'billing_status', 'zendesk', null, true).allowed, false);
  assert.equal(decideOwnership(c.ownership, 'billing_status', 'stripe', null, true).allowed, true);
  // Zendesk is last for the address: it may fill an empty one, never overwrite the checkout's.
  assert.equal(decideOwnership(c.ownership, 'address', 'zendesk', 'shopify', false).allowed, false);
  assert.equal(decideOwnership(c.ownership, 'address', 'zendesk', null, true).allowed, true);
});

test('billing fields default to Stripe alone (from its descriptor), with no API writer', () => {
  const c = parseConfig({});
  assert.deepEqual(c.ownership.billing_status, ['stripe']);
  assert.deepEqual(c.ownership.billing_address, ['stripe']);
  assert.deepEqual(c.ownership.subscriptions, ['stripe']);
  assert.ok(c.ownership.phone.includes('api'));
});

test('an unknown ownership key is still refused', () => {
  assert.throws(
    () => parseConfig({ ownership: { billing_colour: ['stripe'] } }),
    (e) => e instanceof HearthError && /ownership/.test(e.message),
  );
});
