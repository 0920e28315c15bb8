import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toLineage } from './lineage.ts';

const change = (id: string, field: string, event_id: string, customer_id = 'cus_1') => ({
  id,
  customer_id,
  field,
  old_value: null,
  new_value: `${field}-new`,
  source_system: 'shopify',
  actor: 'connector:shopify',
  event_id,
  changed_at: 1000,
});

test('one lineage row per event and customer, fields in change order, under the first change id', () => {
  const rows = toLineage([
    change('chg_1', 'city', 'evt_1'),
    change('chg_2', 'address_line1', 'evt_1'),
    change('chg_3', 'city', 'evt_2'),
    change('chg_4', 'city', 'evt_2', 'cus_2'),
  ]);
  assert.deepEqual(
    rows.map((r) => [r.id, r.customer_id, r.event_id, JSON.parse(r.changes)]),
    [
      [
        'chg_1',
        'cus_1',
        'evt_1',
        [
          ['city', null, 'city-new'],
          ['address_line1', null, 'address_line1-new'],
        ],
      ],
      ['chg_3', 'cus_1', 'evt_2', [['city', null, 'city-new']]],
      ['chg_4', 'cus_2', 'evt_2', [['city', null, 'city-new']]],
    ],
  );
});
