import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { newId } from '../ids.ts';
import { customersByKey, MAX_CUSTOMERS_PER_KEY } from './identity-at-ingest.ts';

describeEachDialect('identity keys at ingest', (ctx) => {
  test('a key over the cap reads cap + 1 rows, not the whole block; rarer keys read in full', async () => {
    const { db } = ctx.hdb();
    const common = Array.from({ length: MAX_CUSTOMERS_PER_KEY + 40 }, () => newId('cus'));
    const rare = [newId('cus'), newId('cus')];
    await db
      .insertInto('identity_keys')
      .values([
        ...common.map((customer_id) => ({ key: 'n:reyes|62701', customer_id })),
        ...rare.map((customer_id) => ({ key: 'e:ana@example.com', customer_id })),
      ])
      .execute();
    const keys = ['n:reyes|62701', 'e:ana@example.com', 'p:+12175550100'];
    const byKey = await customersByKey(db, keys);
    assert.equal(byKey.get('n:reyes|62701')?.length, MAX_CUSTOMERS_PER_KEY + 1);
    assert.deepEqual(byKey.get('e:ana@example.com')?.slice().sort(), rare.slice().sort());
    assert.equal(byKey.has('p:+12175550100'), false);
  });

  test('more keys than one query holds are all looked up', async () => {
    const { db } = ctx.hdb();
    const keys = Array.from({ length: 230 }, (_, i) => `t:key${i}`);
    await db
      .insertInto('identity_keys')
      .values(keys.map((key) => ({ key, customer_id: `cus_${key}` })))
      .execute();
    const byKey = await customersByKey(db, keys);
    assert.equal(byKey.size, 230);
    assert.deepEqual(byKey.get('t:key229'), ['cus_t:key229']);
  });
});
