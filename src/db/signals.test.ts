import assert from 'node:assert/strict';
import { it, test } from 'node:test';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { coalesced, lockAcrossProcesses, openDatabase, type WorkChannel } from './database.ts';

describeEachDialect('work signals and the cross-process apply lock', (ctx, dialect) => {
  if (dialect === 'sqlite') {
    it('one process owns a SQLite file: no signals, and the lock is a no-op', async () => {
      assert.equal(ctx.hdb().signals, undefined);
      await ctx
        .hdb()
        .db.transaction()
        .execute((trx) => lockAcrossProcesses(trx, ctx.hdb().caps, 'x'));
    });
    return;
  }

  it("another process's notification wakes a listener; a process's own does not", async () => {
    const other = openDatabase(ctx.url());
    const heard: WorkChannel[] = [];
    let first: (c: WorkChannel) => void = () => {};
    const got = new Promise<WorkChannel>((resolve) => (first = resolve));
    const stop = ctx.hdb().signals!.listen((c) => {
      heard.push(c);
      first(c);
    });
    try {
      // The listener connects asynchronously: notify until it hears (each round is another process's).
      await ctx.hdb().signals!.notify('inbox'); // its own: ignored, whenever it arrives
      let answer: WorkChannel | undefined;
      void got.then((c) => (answer = c));
      while (answer === undefined) {
        await other.signals!.notify('jobs');
        await Promise.race([got, new Promise((r) => setTimeout(r, 50))]);
      }
      assert.equal(answer, 'jobs');
      assert.ok(!heard.includes('inbox'), `heard ${heard.join(',')}`);
    } finally {
      await stop();
      await other.close();
    }
  });

  it('a second holder of the apply lock waits until the first commits', async () => {
    const other = openDatabase(ctx.url());
    const order: string[] = [];
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    let locked: () => void = () => {};
    const firstHasIt = new Promise<void>((r) => (locked = r));
    try {
      const first = ctx
        .hdb()
        .db.transaction()
        .execute(async (trx) => {
          await lockAcrossProcesses(trx, ctx.hdb().caps, 'hearth:test');
          locked();
          await held;
          order.push('first commits');
        });
      await firstHasIt;
      const second = other.db.transaction().execute(async (trx) => {
        await lockAcrossProcesses(trx, other.caps, 'hearth:test');
        order.push('second has the lock');
      });
      // The second is queued behind the first: let the first finish only now.
      await new Promise((r) => setTimeout(r, 100));
      release();
      await Promise.all([first, second]);
      assert.deepEqual(order, ['first commits', 'second has the lock']);
    } finally {
      await other.close();
    }
  });
});

test('notifications coalesce: calls while one is on its way share one further send, started after it', async () => {
  const sends: { resolve: () => void; reject: (e: Error) => void; settled: boolean }[] = [];
  const notify = coalesced(
    () =>
      new Promise<void>((resolve, reject) => {
        const s = { resolve: () => ((s.settled = true), resolve()), reject, settled: false };
        sends.push(s);
      }),
  );
  const done: string[] = [];
  const first = notify().then(() => done.push('first'));
  assert.equal(sends.length, 1);
  const later = [notify(), notify(), notify()].map((p, i) => p.then(() => done.push(`later${i}`)));
  await new Promise((r) => setImmediate(r));
  assert.equal(sends.length, 1, 'no second send while the first is on its way');
  sends[0]!.resolve();
  await first;
  await new Promise((r) => setImmediate(r));
  assert.equal(sends.length, 2, 'one further send for the calls made meanwhile, begun after the first settled');
  assert.deepEqual(done, ['first'], 'the calls made meanwhile wait for the send that follows them');
  sends[1]!.resolve();
  await Promise.all(later);
  assert.deepEqual(done, ['first', 'later0', 'later1', 'later2']);
  // Idle again: the next call sends at once; a failed send rejects its callers, and the next call sends anew.
  const failing = notify();
  assert.equal(sends.length, 3);
  const queuedBehindFailure = notify();
  sends[2]!.reject(new Error('connection lost'));
  await assert.rejects(failing, /connection lost/);
  await new Promise((r) => setImmediate(r));
  assert.equal(sends.length, 4, 'a call made during a failed send still gets its own send');
  sends[3]!.resolve();
  await queuedBehindFailure;
});
