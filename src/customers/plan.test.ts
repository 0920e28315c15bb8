import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONNECTORS, defaultOwnership } from '../connectors/registry.ts';

const DEFAULT_OWNERSHIP = defaultOwnership(CONNECTORS);
import { planChanges } from './plan.ts';

const empty = {
  given_name: null,
  family_name: null,
  email: null,
  phone: null,
  address_key: null,
  field_sources: '{}',
  address_line1: null,
  address_line2: null,
  city: null,
  region: null,
  postal_code: null,
  country: null,
};
const addr = {
  line1: '1 Main St',
  line2: 'Apt 4',
  city: 'Springfield',
  region: 'IL',
  postal_code: '62701',
  country: 'US',
};

test('an empty customer takes every field and logs each one', () => {
  const plan = planChanges(
    empty,
    { given_name: 'Jane', email: 'Jane@X.com', address: { value: addr, key: 'k1', validated: true } },
    'shopify',
    DEFAULT_OWNERSHIP,
    5,
  );
  assert.equal(plan.updates.given_name, 'Jane');
  assert.equal(plan.updates.email_normalized, 'jane@x.com');
  assert.equal(plan.updates.address_key, 'k1');
  assert.equal(plan.updates.address_validated_at, 5);
  assert.equal(plan.address_moved, true);
  assert.deepEqual(
    plan.log.map((l) => l.field),
    ['given_name', 'email', 'address_line1', 'address_line2', 'city', 'region', 'postal_code', 'country'],
  );
});

test('the CRM owns names: checkout may fill an empty name but not overwrite a CRM one', () => {
  const row = { ...empty, given_name: 'Janet', field_sources: JSON.stringify({ given_name: 'hubspot' }) };
  const plan = planChanges(row, { given_name: 'Jane' }, 'shopify', DEFAULT_OWNERSHIP, 1);
  assert.equal(plan.updates.given_name, undefined);
  assert.deepEqual(plan.rejected, [
    { field: 'given_name', reason: 'given_name is owned by hubspot, which outranks shopify' },
  ]);
});

test('a checkout-validated address outranks the CRM, and the CRM cannot overwrite it back', () => {
  const crmRow = {
    ...empty,
    address_line1: '9 Old Rd',
    address_key: 'old',
    field_sources: JSON.stringify({ address: 'hubspot' }),
  };
  const fromCheckout = planChanges(
    crmRow,
    { address: { value: addr, key: 'new', validated: true } },
    'shopify',
    DEFAULT_OWNERSHIP,
    1,
  );
  assert.equal(fromCheckout.address_moved, true);
  const shopRow = { ...crmRow, ...fromCheckout.updates } as typeof crmRow;
  const fromCrm = planChanges(
    shopRow,
    { address: { value: { line1: '9 Old Rd' }, key: 'old', validated: false } },
    'hubspot',
    DEFAULT_OWNERSHIP,
    2,
  );
  assert.equal(fromCrm.address_moved, false);
  assert.equal(fromCrm.rejected[0]?.field, 'address');
});

test('a respelling of the same delivery point by the same source is not a change', () => {
  const row = {
    ...empty,
    ...{
      address_line1: '1 Main St',
      address_line2: 'Apt 4',
      city: 'Springfield',
      region: 'IL',
      postal_code: '62701',
      country: 'US',
    },
    address_key: 'k1',
    field_sources: JSON.stringify({ address: 'shopify' }),
  };
  const plan = planChanges(
    row,
    { address: { value: { ...addr, line1: '1 Main Street' }, key: 'k1', validated: true } },
    'shopify',
    DEFAULT_OWNERSHIP,
    1,
  );
  assert.deepEqual(plan.log, []);
  assert.equal(plan.address_moved, false);
});

test('a source the policy does not list may not set the field', () => {
  const plan = planChanges(empty, { phone: '+1 555' }, 'helpdesk', DEFAULT_OWNERSHIP, 1);
  assert.equal(plan.updates.phone, undefined);
  assert.match(plan.rejected[0]!.reason, /helpdesk may not set phone/);
});

test('an explicit clear from the owning system clears the field and logs it; a bare null is no change', () => {
  const row = {
    ...empty,
    phone: '+13125550100',
    email: 'jo@x.com',
    field_sources: JSON.stringify({ phone: 'hubspot', email: 'hubspot' }),
  };
  const clear = planChanges(row, { phone: null, cleared: ['phone'] }, 'hubspot', DEFAULT_OWNERSHIP, 1);
  assert.equal(clear.updates.phone, null);
  assert.deepEqual(clear.log, [{ field: 'phone', old_value: '+13125550100', new_value: null }]);
  assert.equal(JSON.parse(clear.updates.field_sources!).phone, 'hubspot', 'the clear has a writer');
  // Absent, or null without the source saying it emptied the field: "no value", no change.
  for (const incoming of [{}, { phone: null }, { phone: '  ' }])
    assert.deepEqual(planChanges(row, incoming, 'hubspot', DEFAULT_OWNERSHIP, 1).log, []);
  // A clear named for a field carried with a value is no clear (the value wins).
  assert.equal(
    planChanges(row, { phone: '+13125550101', cleared: ['phone'] }, 'hubspot', DEFAULT_OWNERSHIP, 1).updates.phone,
    '+13125550101',
  );
  const email = planChanges(row, { email: null, cleared: ['email'] }, 'hubspot', DEFAULT_OWNERSHIP, 1);
  assert.deepEqual([email.updates.email, email.updates.email_normalized], [null, null]);
  // Clearing a field already empty changes nothing.
  assert.deepEqual(planChanges(empty, { phone: null, cleared: ['phone'] }, 'hubspot', DEFAULT_OWNERSHIP, 1).log, []);
});

test('a clear from a system that does not own the field is refused like any change', () => {
  const row = { ...empty, phone: '+13125550100', field_sources: JSON.stringify({ phone: 'hubspot' }) };
  const plan = planChanges(row, { phone: null, cleared: ['phone'] }, 'helpdesk', DEFAULT_OWNERSHIP, 1);
  assert.equal(plan.updates.phone, undefined);
  assert.deepEqual(plan.log, []);
  assert.match(plan.rejected[0]!.reason, /helpdesk may not set phone/);
});
