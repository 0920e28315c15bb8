import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAddressComparer } from './address-compare.ts';
import { auditJoin } from './audit-join.ts';
import { emptyCrmIndex, type CrmIndex } from './crm-reader.ts';
import { emptyOrderFold, type OrderFold } from './orders-reader.ts';
import { packAddress } from './packed-address.ts';
import { comparePhones } from './phone-compare.ts';
import type { CrmContact } from './types.ts';

const AS_OF = Date.parse('2026-01-01T00:00:00Z');

test('addresses compare as delivery points: unit, suffix and ZIP+4 spellings are format_only', () => {
  const compare = createAddressComparer();
  const crm = packAddress('123 Main Street Apt 4B', '', 'Springfield', 'IL', '62704', 'United States');
  assert.equal(
    compare(crm, packAddress('123 Main Street', 'Apt 4B', 'Springfield', 'IL', '62704', 'US')).verdict,
    'same',
  );
  assert.equal(
    compare(crm, packAddress('123 main street apt. 4b', '', 'SPRINGFIELD', 'IL', '62704', '')).verdict,
    'same',
  );
  for (const [line1, line2, zip] of [
    ['123 Main St', 'Apartment 4-B', '62704'],
    ['123 Main St', '#4B', '62704-1234'],
    ['123 Main Street', 'Unit 4B', '62704'],
  ] as const) {
    const o = compare(crm, packAddress(line1, line2, 'Springfield', 'IL', zip, 'US'));
    assert.equal(o.verdict, 'format_only', `${line1} ${line2} ${zip}`);
    assert.deepEqual(o.differing, []);
  }
  const renumbered = compare(crm, packAddress('125 Main St', 'Apt 4B', 'Springfield', 'IL', '62704', 'US'));
  assert.equal(renumbered.verdict, 'drift');
  assert.deepEqual(renumbered.differing, ['address_number']);
  assert.deepEqual(compare(crm, packAddress('123 Main St', 'Apt 7C', 'Springfield', 'IL', '62704', 'US')).differing, [
    'occupancy_identifier',
  ]);
  const moved = compare(crm, packAddress('123 Main St', 'Apt 4B', 'Austin', 'TX', '78701', 'US'));
  assert.equal(moved.verdict, 'drift');
  assert.deepEqual([...moved.differing].sort(), ['place_name', 'state_name', 'zip_code']);
});

test('phones compare as E.164: formatting is format_only, another number is a mismatch', () => {
  assert.equal(comparePhones('(312) 555-1212', '(312) 555-1212', 'US').verdict, 'same');
  assert.equal(comparePhones('(312) 555-1212', '312.555.1212', 'US').verdict, 'format_only');
  assert.equal(comparePhones('(312) 555-1212', '+1 312 555 1212', 'United States').verdict, 'format_only');
  assert.deepEqual(comparePhones('(312) 555-1212', '+1 312 555 9999', 'US'), {
    verdict: 'mismatch',
    crm_e164: '+13125551212',
    observed_e164: '+13125559999',
  });
  assert.equal(comparePhones('(312) 555-1212', "'+13125551212", 'US').verdict, 'format_only');
  assert.equal(comparePhones('020 7946 0018', '+44 20 7946 0018', () => 'GB').verdict, 'format_only');
});

function crmOf(contacts: [email: string, id: string, address: string, phone: string][]): CrmIndex {
  const index = emptyCrmIndex();
  for (const [email, id, address, phone] of contacts) {
    const c: CrmContact = { id, address, phone, next: undefined };
    const first = index.byEmail.get(email);
    if (first) first.next = c;
    else index.byEmail.set(email, c);
    index.contacts++;
  }
  return index;
}

function ordersOf(orders: [email: string, name: string, date: string, address: string, phone: string][]): OrderFold {
  const fold = emptyOrderFold();
  for (const [email, name, date, address, phone] of orders)
    fold.latest.set(email, { name, id: name.slice(1), createdAt: Date.parse(date), address, phone });
  return fold;
}

const HOME = packAddress('1 Main Street Apt 4B', '', 'Springfield', 'IL', '62704', 'US');

test('join: every finding kind with its evidence, and drift rates per field', () => {
  const crm = crmOf([
    ['same@x.com', 'c1', HOME, '(217) 555-0100'],
    ['moved@x.com', 'c2', HOME, ''],
    ['respelled@x.com', 'c3', HOME, ''],
    ['dup@x.com', 'c4', HOME, ''],
    ['dup@x.com', 'c5', HOME, ''],
    ['phone@x.com', 'c6', HOME, '(217) 555-0100'],
    ['noaddr@x.com', 'c7', packAddress('', '', '', '', '', ''), ''],
    ['noorders@x.com', 'c8', HOME, ''],
  ]);
  const orders = ordersOf([
    [
      'same@x.com',
      '#1',
      '2025-12-01T00:00:00Z',
      packAddress('1 Main Street', 'Apt 4B', 'Springfield', 'IL', '62704', 'US'),
      '(217) 555-0100',
    ],
    [
      'moved@x.com',
      '#2',
      '2025-06-15T00:00:00Z',
      packAddress('77 Oak Ave', '', 'Springfield', 'IL', '62704', 'US'),
      '',
    ],
    [
      'respelled@x.com',
      '#3',
      '2025-12-01T00:00:00Z',
      packAddress('1 Main St', 'Apartment 4-B', 'Springfield', 'IL', '62704-1234', 'US'),
      '',
    ],
    ['dup@x.com', '#4', '2025-12-01T00:00:00Z', HOME, ''],
    ['phone@x.com', '#5', '2025-12-01T00:00:00Z', HOME, '+1 217 555 0199'],
    ['noaddr@x.com', '#6', '2025-12-01T00:00:00Z', HOME, ''],
    ['guest@x.com', '#7', '2025-12-01T00:00:00Z', HOME, ''],
  ]);
  const r = auditJoin(crm, orders, { asOf: AS_OF });
  assert.deepEqual(r.counts, {
    stale_address: 1,
    missing_address: 1,
    missing_in_crm: 1,
    duplicate_contact: 1,
    phone_mismatch: 1,
    format_only: 1,
  });
  assert.equal(r.joinedCustomers, 6);
  const byKind = Object.fromEntries(r.findings.map((f) => [f.kind, f]));
  assert.deepEqual(byKind.stale_address, {
    kind: 'stale_address',
    email: 'moved@x.com',
    crm_id: 'c2',
    evidence: {
      field: 'address',
      crm_value: '1 Main Street Apt 4B, Springfield, IL 62704, US',
      observed_value: '77 Oak Ave, Springfield, IL 62704, US',
      order: { name: '#2', id: '2', created_at: '2025-06-15T00:00:00.000Z' },
      differing: byKind.stale_address!.evidence.differing,
      format_only: byKind.stale_address!.evidence.format_only,
      months_since_order: 6,
    },
  });
  assert.ok(
    byKind.stale_address!.evidence.differing.includes('address_number') &&
      byKind.stale_address!.evidence.differing.includes('street_name'),
  );
  assert.equal(byKind.format_only!.email, 'respelled@x.com');
  assert.deepEqual(byKind.format_only!.evidence.differing, []);
  assert.deepEqual(byKind.duplicate_contact!.evidence.crm_ids, ['c4', 'c5']);
  assert.equal(byKind.phone_mismatch!.evidence.observed_e164, '+12175550199');
  assert.equal(byKind.missing_address!.crm_id, 'c7');
  assert.equal(byKind.missing_in_crm!.email, 'guest@x.com');
  // Seven contacts with an order compared on address (both dup copies), two drifted.
  assert.deepEqual(r.drift.address, { compared: 7, drifted: 2, rate: 0.285714 });
  assert.deepEqual(r.drift.phone, { compared: 2, drifted: 1, rate: 0.5 });
  assert.equal(r.drift.address_number.drifted, 1);
});

test('an order without a shipping address is no evidence about the CRM address', () => {
  const r = auditJoin(
    crmOf([['a@x.com', 'c1', HOME, '']]),
    ordersOf([['a@x.com', '#1', '2025-12-01T00:00:00Z', packAddress('', '', '', '', '', ''), '']]),
    { asOf: AS_OF },
  );
  assert.equal(r.findings.length, 0);
  assert.equal(r.drift.address.compared, 0);
});
