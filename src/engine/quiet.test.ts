import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { enqueueJobs, markDone } from './jobs.ts';
import { settleEvent, storeDeliveries } from './inbox.ts';
import { isQuiet } from './quiet.ts';

describeEachDialect('isQuiet', (ctx) => {
  test('is false while an inbox event is pending or a job is open, true once both are settled', async () => {
    const { db } = ctx.hdb();
    assert.equal(await isQuiet(db), true);
    const { accepted } = await storeDeliveries(
      db,
      'shopify',
      [{ delivery_id: 'quiet-1', event: { type: 'unsupported' } as never }],
      1000,
    );
    assert.equal(await isQuiet(db), false, 'pending event');
    const [jobId] = await enqueueJobs(
      db,
      [{ target: 't-quiet', kind: 'x', job_key: 'quiet', payload: {}, origin_at: 0 }],
      5,
      1000,
    );
    await settleEvent(db, accepted[0]!, 'applied', 1001);
    assert.equal(await isQuiet(db), false, 'pending job');
    await markDone(db, jobId!, 1002);
    assert.equal(await isQuiet(db), true);
  });
});
