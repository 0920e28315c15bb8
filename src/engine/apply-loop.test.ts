import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDialect } from '../../test-support/dialects.ts';
import type { CanonicalEvent } from '../canonical/types.ts';
import { applyPendingEvents, type ApplyStatus, type EventApplier } from './apply-loop.ts';
import { insertEvents, settleEvent } from './inbox.ts';

/** An applier that throws on one kind of event and counts the transactions it is given. */
function countingApplier(): EventApplier<{ settled: [string, ApplyStatus][] }> & { loads: number } {
  const applier = {
    loads: 0,
    load: async () => {
      applier.loads++;
      return { settled: [] as [string, ApplyStatus][] };
    },
    apply: (_s: unknown, ev: CanonicalEvent) => {
      if (ev.type === 'unsupported' && ev.vendor_type === 'poison') throw new Error('poisoned event');
      return { status: 'ignored' as const, jobs: 0, rejected: [] };
    },
    settle: (s: { settled: [string, ApplyStatus][] }, id: string, status: ApplyStatus) =>
      void s.settled.push([id, status]),
    flush: async (
      trx: Parameters<EventApplier<unknown>['flush']>[0],
      s: { settled: [string, ApplyStatus][] },
      now: number,
    ) => {
      for (const [id, status] of s.settled) await settleEvent(trx, id, status, now);
    },
  };
  return applier;
}

describeEachDialect('apply loop', (ctx) => {
  test('a poisoned event in a batch is isolated by bisection; the rest of the batch applies', async () => {
    const { db } = ctx.hdb();
    const events = Array.from({ length: 64 }, (_, i) => ({
      delivery_id: `d${i}`,
      event: { type: 'unsupported' as const, source: 'test', vendor_type: i === 37 ? 'poison' : 'fine' },
    }));
    await insertEvents(db, 'test', events, 1000);
    const applier = countingApplier();
    const report = await applyPendingEvents(ctx.hdb(), applier, 100, () => 2000);
    assert.equal(report.ignored, 63, 'every other event applied');
    // One batch, then two halves per level down to the bad event: 1 + 2·log2(64) = 13 (one by one: 65).
    assert.ok(applier.loads <= 13, `${applier.loads} transactions`);
    const left = await db
      .selectFrom('inbox_events')
      .select(['delivery_id', 'status', 'attempts', 'error'])
      .where('status', '=', 'pending')
      .execute();
    assert.deepEqual(left, [{ delivery_id: 'd37', status: 'pending', attempts: 1, error: 'poisoned event' }]);
  });
});
