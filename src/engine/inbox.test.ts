import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { getEvent, storeDeliveries } from './inbox.ts';

const ev = (n: number) => ({ type: 'unsupported', source: 'shopify', vendor_type: `t${n}` }) as never;

describeEachDialect('inbox', (ctx) => {
  test('a body is stored with one statement: redeliveries and repeats within it are duplicates', async () => {
    const { db } = ctx.hdb();
    const first = await storeDeliveries(db, 'shopify', [{ delivery_id: 'inbox-a', event: ev(1) }], 1000);
    assert.equal(first.accepted.length, 1);
    const second = await storeDeliveries(
      db,
      'shopify',
      [
        { delivery_id: 'inbox-b', event: ev(2) },
        { delivery_id: 'inbox-a', event: ev(3) },
        { delivery_id: 'inbox-c', event: ev(4) },
        { delivery_id: 'inbox-b', event: ev(5) },
      ],
      2000,
    );
    assert.equal(second.duplicates, 2);
    assert.equal(second.accepted.length, 2);
    // Accepted in the body's order, each holding its own event (the first of a repeated id).
    const stored = await Promise.all(second.accepted.map((id) => getEvent(db, id)));
    assert.deepEqual(
      stored.map((r) => [r?.delivery_id, JSON.parse(r!.payload).vendor_type]),
      [
        ['inbox-b', 't2'],
        ['inbox-c', 't4'],
      ],
    );
    // Another connector's delivery ids are its own.
    const other = await storeDeliveries(db, 'hubspot', [{ delivery_id: 'inbox-a', event: ev(6) }], 3000);
    assert.equal(other.accepted.length, 1);
  });
});
