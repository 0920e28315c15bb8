import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CustomersTable } from '../db/schema.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { setMembership, upsertHousehold } from '../households/membership-store.ts';
import { newId } from '../ids.ts';
import { householdProposals, suggestHouseholds } from './householding.ts';

const T0 = Date.UTC(2026, 3, 1);

function person(given: string, family: string, addressKey: string | null): CustomersTable {
  return {
    id: newId('cus', T0),
    given_name: given,
    family_name: family,
    email: null,
    email_normalized: null,
    phone: null,
    address_line1: addressKey ? '1 X St' : null,
    address_line2: null,
    city: null,
    region: null,
    postal_code: null,
    country: null,
    address_key: addressKey,
    address_source: null,
    address_validated_at: null,
    field_sources: '{}',
    merged_into: null,
    version: 1,
    created_at: T0,
    updated_at: T0,
  };
}

test('proposals: same delivery point and family name, not already one household', () => {
  const [ann, bo, cy, dee, eve] = [
    person('Ann', 'Okafor', 'k1'),
    person('Bo', "O'Kafor", 'k1'),
    person('Cy', 'Ming', 'k1'),
    person('Dee', 'Okafor', 'k2'),
    person('Eve', 'Okafor', null),
  ];
  const proposals = householdProposals([ann!, bo!, cy!, dee!, eve!], new Map());
  assert.deepEqual(
    proposals.map((p) => [p.subject, p.customer_ids]),
    [['k1|okafor', [ann!.id, bo!.id].sort()]],
  );
  assert.deepEqual(
    householdProposals(
      [ann!, bo!],
      new Map([
        [ann!.id, 'hh_1'],
        [bo!.id, 'hh_1'],
      ]),
    ),
    [],
    'already one household',
  );
  assert.equal(
    householdProposals([ann!, bo!], new Map([[ann!.id, 'hh_1']])).length,
    1,
    'one member outside the household',
  );
});

describeEachDialect('household suggestions', (ctx) => {
  test('suggested as review items, never imposed; members of one CRM household are left alone', async () => {
    const { db } = ctx.hdb();
    const [ann, bo, cy, dee] = [
      person('Ann', 'Okafor', 'k1'),
      person('Bo', 'Okafor', 'k1'),
      person('Cy', 'Lund', 'k2'),
      person('Dee', 'Lund', 'k2'),
    ];
    await db.insertInto('customers').values([ann!, bo!, cy!, dee!]).execute();
    const hh = await upsertHousehold(db, 'hubspot', 'company-1', 'Lund', T0);
    for (const c of [cy!, dee!])
      await setMembership(db, c.id, { household_id: hh, role: 'member', opt_in: false, source_system: 'hubspot' }, T0);
    const proposals = await suggestHouseholds(db, null, T0);
    assert.deepEqual(
      proposals.map((p) => p.subject),
      ['k1|okafor'],
    );
    const items = await db.selectFrom('review_items').selectAll().where('kind', '=', 'household_suggestion').execute();
    assert.deepEqual(
      items.map((i) => [i.status, JSON.parse(i.customer_ids)]),
      [['pending', [ann!.id, bo!.id].sort()]],
    );
    const members = await db
      .selectFrom('household_members')
      .select('customer_id')
      .where('customer_id', 'in', [ann!.id, bo!.id])
      .execute();
    assert.deepEqual(members, [], 'no household is created');
    await suggestHouseholds(db, ['k1'], T0 + 1);
    assert.equal(
      (await db.selectFrom('review_items').select('id').where('kind', '=', 'household_suggestion').execute()).length,
      1,
      'suggested once',
    );
  });
});
