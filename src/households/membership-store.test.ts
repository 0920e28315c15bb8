import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { householdHistory, membershipAt, setMembership, upsertHousehold } from './membership-store.ts';

describeEachDialect('household membership timeline', (ctx) => {
  test('a change closes the open period and opens the next; the database refuses a second open period', async () => {
    const db = ctx.hdb().db;
    const hh = await upsertHousehold(db, 'hubspot', 'co-1', 'The Moss family', 1_000);
    await setMembership(
      db,
      'cus_tl',
      { household_id: hh, role: 'member', opt_in: false, source_system: 'hubspot' },
      1_000,
    );
    const change = await setMembership(
      db,
      'cus_tl',
      { household_id: hh, role: 'member', opt_in: true, source_system: 'hubspot' },
      2_000,
    );
    assert.deepEqual([change.closed?.valid_to, change.opened?.valid_from], [2_000, 2_000]);
    assert.equal((await membershipAt(db, 'cus_tl'))?.points_aggregation_opt_in, true);
    assert.equal(
      (await membershipAt(db, 'cus_tl', 1_500))?.points_aggregation_opt_in,
      false,
      'history answers for a past moment',
    );
    assert.deepEqual(
      await setMembership(
        db,
        'cus_tl',
        { household_id: hh, role: 'member', opt_in: true, source_system: 'hubspot' },
        3_000,
      ),
      {},
      'no change, no new period',
    );
    // Two writers racing past the read would each insert an open period: the unique index refuses the second.
    await assert.rejects(
      db
        .insertInto('household_members')
        .values({
          id: 'hm_race',
          household_id: hh,
          customer_id: 'cus_tl',
          role: 'head',
          opt_in: 1,
          valid_from: 4_000,
          valid_to: null,
          source_system: 'hubspot',
          created_at: 4_000,
        })
        .execute(),
    );
    assert.equal((await householdHistory(db, hh)).length, 2);
  });
});
