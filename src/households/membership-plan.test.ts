import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { membersAfter, planMemberships } from './membership-plan.ts';
import type { Membership } from './membership-store.ts';

const open = (customer_id: string, household_id: string, opt_in = true): Membership => ({
  household_id,
  customer_id,
  role: 'member',
  points_aggregation_opt_in: opt_in,
  valid_from: 100,
  valid_to: null,
});
const next = (household_id: string, opt_in = true) => ({
  household_id,
  role: 'member' as const,
  opt_in,
  source_system: 'hubspot',
});

describe('planMemberships (a batch of wants, in order, against the stored open periods)', () => {
  it('an unchanged membership is a no-op; a change closes the stored period and opens one', () => {
    const stored = new Map([
      ['a', open('a', 'hh_1')],
      ['b', open('b', 'hh_1')],
    ]);
    const plan = planMemberships(
      stored,
      [
        { customer_id: 'a', next: next('hh_1') },
        { customer_id: 'b', next: next('hh_2') },
        { customer_id: 'c', next: null },
      ],
      500,
    );
    assert.deepEqual(plan.changes[0], null);
    assert.deepEqual(plan.changes[1], {
      customer_id: 'b',
      closed: { ...open('b', 'hh_1'), valid_to: 500 },
      opened: { ...open('b', 'hh_2'), valid_from: 500 },
    });
    assert.equal(plan.changes[2], null, 'no membership wanted and none held');
    assert.deepEqual(plan.close, ['b']);
    assert.deepEqual(
      plan.insert.map((r) => [r.period.customer_id, r.period.household_id, r.period.valid_to]),
      [['b', 'hh_2', null]],
    );
    assert.deepEqual([...plan.open], [['b', { ...open('b', 'hh_2'), valid_from: 500 }]]);
  });

  it('a customer named twice: the second want sees the first, whose period is inserted already closed', () => {
    const plan = planMemberships(
      new Map(),
      [
        { customer_id: 'a', next: next('hh_1') },
        { customer_id: 'a', next: next('hh_1') },
        { customer_id: 'a', next: next('hh_1', false) },
      ],
      500,
    );
    assert.equal(plan.changes[1], null, 'the same membership again changes nothing');
    assert.equal(plan.changes[2]?.closed?.household_id, 'hh_1');
    assert.deepEqual(plan.close, [], 'nothing stored to close');
    assert.deepEqual(
      plan.insert.map((r) => [r.period.points_aggregation_opt_in, r.period.valid_to]),
      [
        [true, 500],
        [false, null],
      ],
    );
  });

  it('leaving closes the stored period and leaves the customer in no household', () => {
    const plan = planMemberships(new Map([['a', open('a', 'hh_1')]]), [{ customer_id: 'a', next: null }], 500);
    assert.deepEqual(plan.changes[0], { customer_id: 'a', closed: { ...open('a', 'hh_1'), valid_to: 500 } });
    assert.deepEqual(plan.close, ['a']);
    assert.deepEqual(plan.insert, []);
    assert.equal(plan.open.get('a'), undefined);
    assert.equal(plan.open.has('a'), true);
  });
});

describe('membersAfter', () => {
  it('moves the changed customers between the households they left and joined', () => {
    const before = new Map([
      ['hh_1', [open('a', 'hh_1'), open('b', 'hh_1')]],
      ['hh_2', [open('c', 'hh_2')]],
    ]);
    const plan = planMemberships(
      new Map([
        ['a', open('a', 'hh_1')],
        ['b', open('b', 'hh_1')],
      ]),
      [
        { customer_id: 'a', next: next('hh_2') },
        { customer_id: 'b', next: null },
      ],
      500,
    );
    const after = membersAfter(before, plan);
    assert.deepEqual(after.get('hh_1'), []);
    assert.deepEqual(
      after.get('hh_2')!.map((m) => [m.customer_id, m.valid_from]),
      [
        ['a', 500],
        ['c', 100],
      ],
    );
  });
});
