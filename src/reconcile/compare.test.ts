import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanonicalContact } from '../canonical/types.ts';
import { compareContact, type FieldComparison } from './compare.ts';
import { decideFinding } from './policy.ts';
import { scorecard, tally, type RunStats } from './scorecard.ts';

const hearth: CanonicalContact = {
  given_name: 'Ana',
  family_name: 'Díaz',
  email: 'ana@example.com',
  phone: '+13125550142',
  address: {
    line1: '2200 N Lincoln Ave Apt 4B',
    line2: null,
    city: 'Chicago',
    region: 'IL',
    postal_code: '60614',
    country: 'US',
  },
};
const outcomes = (cs: FieldComparison[]) => Object.fromEntries(cs.map((c) => [c.field, c.outcome]));

test('an identical record has no difference in any field', () => {
  assert.deepEqual(outcomes(compareContact(hearth, hearth, 'US')), {
    given_name: 'same',
    family_name: 'same',
    email: 'same',
    phone: 'same',
    address: 'same',
  });
});

test('respellings are format_only: address as a delivery point, phone as E.164, case and accents in names', () => {
  const crm: CanonicalContact = {
    given_name: 'ANA',
    family_name: 'Diaz',
    email: 'Ana@Example.com',
    phone: '(312) 555-0142',
    address: {
      line1: '2200 North Lincoln Avenue Apartment 4-B',
      line2: null,
      city: 'Chicago',
      region: 'IL',
      postal_code: '60614-1234',
      country: 'US',
    },
  };
  const cs = compareContact(hearth, crm, 'US');
  assert.deepEqual(outcomes(cs), {
    given_name: 'format_only',
    family_name: 'format_only',
    email: 'format_only',
    phone: 'format_only',
    address: 'format_only',
  });
  assert.equal(cs.find((c) => c.field === 'phone')!.detail.system_e164, '+13125550142');
});

test('a second line folded into the first (HubSpot) is the same address, not a difference', () => {
  const split: CanonicalContact = {
    address: {
      line1: '2200 N Lincoln Ave',
      line2: 'Apt 4B',
      city: 'Chicago',
      region: 'IL',
      postal_code: '60614',
      country: 'US',
    },
  };
  assert.equal(compareContact(split, { address: hearth.address! }, 'US')[0]!.outcome, 'same');
});

test('a different delivery point, a different number and an emptied field are drift, with evidence', () => {
  const crm: CanonicalContact = {
    given_name: 'Anabel',
    family_name: null,
    email: 'ana@example.com',
    phone: '312-555-0199',
    address: {
      line1: '2200 N Lincoln Ave Apt 5C',
      line2: null,
      city: 'Chicago',
      region: 'IL',
      postal_code: '60614',
      country: 'US',
    },
  };
  const cs = compareContact(hearth, crm, 'US');
  assert.deepEqual(outcomes(cs), {
    given_name: 'drift',
    family_name: 'drift',
    email: 'same',
    phone: 'drift',
    address: 'drift',
  });
  assert.deepEqual(cs.find((c) => c.field === 'address')!.detail, { differing: ['occupancy_identifier'] });
  assert.deepEqual(cs.find((c) => c.field === 'phone')!.detail, {
    canonical_e164: '+13125550142',
    system_e164: '+13125550199',
  });
  assert.equal(
    compareContact(hearth, { ...crm, address: null }, 'US').find((c) => c.field === 'address')!.outcome,
    'drift',
  );
});

test('a field Hearth holds no value for is not compared', () => {
  assert.deepEqual(
    compareContact(
      { email: 'x@example.com' },
      { email: 'x@example.com', phone: '+15125550100', given_name: 'X' },
      'US',
    ).map((c) => c.field),
    ['email'],
  );
});

test('policies: format_only is never healed; heal only for a healable field on a system Hearth writes to', () => {
  const [addr] = compareContact(
    { address: hearth.address! },
    { address: { ...hearth.address!, line1: '9 Oak St' } },
    'US',
  );
  const [fmt] = compareContact(
    { address: hearth.address! },
    { address: { ...hearth.address!, line1: '2200 North Lincoln Avenue #4B' } },
    'US',
  );
  const [phone] = compareContact({ phone: '+13125550142' }, { phone: '+13125550199' }, 'US');
  assert.deepEqual(decideFinding(addr!, 'heal'), { kind: 'drift', status: 'healing', heal: true });
  assert.deepEqual(decideFinding(addr!, 'heal', false), { kind: 'drift', status: 'open', heal: false });
  assert.deepEqual(decideFinding(fmt!, 'heal'), { kind: 'format_only', status: 'ignored', heal: false });
  assert.deepEqual(decideFinding(phone!, 'review'), { kind: 'drift', status: 'open', heal: false });
  assert.deepEqual(decideFinding(phone!, 'report'), { kind: 'drift', status: 'reported', heal: false });
  assert.deepEqual(decideFinding(phone!, 'heal'), { kind: 'drift', status: 'healing', heal: true });
  const [email] = compareContact({ email: 'a@example.com' }, { email: 'b@example.com' }, 'US');
  assert.deepEqual(
    decideFinding(email!, 'heal'),
    { kind: 'drift', status: 'open', heal: false },
    'email is never rewritten',
  );
});

test('scorecard: drift rate per system and field counts drift, not format-only differences', () => {
  const stats: RunStats = {};
  tally(stats, 'hubspot', compareContact(hearth, hearth, 'US'));
  tally(stats, 'hubspot', compareContact(hearth, { ...hearth, phone: '+13125550100' }, 'US'));
  tally(stats, 'hubspot', compareContact(hearth, { ...hearth, phone: '312 555 0142' }, 'US'));
  const phone = scorecard(stats).find((l) => l.field === 'phone')!;
  assert.deepEqual(phone, {
    system: 'hubspot',
    field: 'phone',
    compared: 3,
    drifted: 1,
    format_only: 1,
    drift_rate: 0.3333,
    format_only_rate: 0.3333,
  });
  assert.equal(scorecard(stats).find((l) => l.field === 'address')!.drift_rate, 0);
  assert.deepEqual(scorecard({}), []);
});
