import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { HearthError } from '../errors.ts';
import {
  claimJobs,
  enqueueJobs,
  lateWritebacks,
  listJobs,
  markAllDone,
  markDead,
  markDone,
  markRetry,
  requeueJob,
} from './jobs.ts';

const job = (key: string, kind = 'crm.address_write', origin_at = 0) => ({
  target: 't1',
  kind,
  job_key: key,
  payload: { key },
  origin_at,
  supersedes_pending: kind === 'crm.address_write',
});

describeEachDialect('job queue', (ctx) => {
  test('claims due jobs once, in order, one per key at a time', async () => {
    const { db, caps } = ctx.hdb();
    await enqueueJobs(db, [job('a', 'x'), job('a', 'y'), job('b', 'x')], 5, 1000);
    const first = await claimJobs(db, caps, { target: 't1', limit: 10, worker_id: 'w1', now: 1000, lease_ms: 60_000 });
    assert.deepEqual(
      first.map((j) => j.job_key),
      ['a', 'b'],
    );
    assert.ok(first.every((j) => j.status === 'running' && j.attempts === 1));
    const none = await claimJobs(db, caps, { target: 't1', limit: 10, worker_id: 'w2', now: 1001, lease_ms: 60_000 });
    assert.equal(none.length, 0, 'second job of key a waits for the first');
    await markDone(db, first[0]!.id, 1002);
    const next = await claimJobs(db, caps, { target: 't1', limit: 10, worker_id: 'w2', now: 1003, lease_ms: 60_000 });
    assert.deepEqual(
      next.map((j) => [j.job_key, j.kind]),
      [['a', 'y']],
    );
    await markDone(db, next[0]!.id, 1004);
    await markDone(db, first[1]!.id, 1004);
  });

  test('a batch settles done with one call: only the jobs named, each with its done time', async () => {
    const { db, caps } = ctx.hdb();
    await enqueueJobs(db, [job('m1', 'x'), job('m2', 'x'), job('m3', 'x')], 5, 1500);
    const claimed = await claimJobs(db, caps, { target: 't1', limit: 10, worker_id: 'w', now: 1500, lease_ms: 1000 });
    const mine = claimed.filter((j) => ['m1', 'm2', 'm3'].includes(j.job_key));
    await markAllDone(db, [mine[0]!.id, mine[1]!.id], 1501);
    const rows = await db
      .selectFrom('jobs')
      .selectAll()
      .where('job_key', 'in', ['m1', 'm2', 'm3'])
      .orderBy('id')
      .execute();
    assert.deepEqual(
      rows.map((r) => [r.job_key, r.status, r.done_at === null ? null : Number(r.done_at), r.locked_by]),
      [
        ['m1', 'done', 1501, null],
        ['m2', 'done', 1501, null],
        ['m3', 'running', null, 'w'],
      ],
    );
    await markAllDone(db, [], 1502);
    await markDone(db, mine[2]!.id, 1502);
  });

  test('a newer address write for a key supersedes the pending one', async () => {
    const { db, caps } = ctx.hdb();
    await enqueueJobs(db, [job('s')], 5, 2000);
    await enqueueJobs(db, [job('s')], 5, 2001);
    const superseded = await listJobs(db, { status: 'superseded', limit: 10 });
    assert.equal(superseded.length, 1);
    const claimed = await claimJobs(db, caps, { target: 't1', limit: 10, worker_id: 'w', now: 2002, lease_ms: 1000 });
    assert.equal(claimed.length, 1);
    await markDone(db, claimed[0]!.id, 2003);
  });

  test('retry waits for run_at; an expired lease is reclaimed; dead jobs can be re-driven', async () => {
    const { db, caps } = ctx.hdb();
    await enqueueJobs(db, [job('r')], 5, 3000);
    const [j] = await claimJobs(db, caps, { target: 't1', limit: 1, worker_id: 'w', now: 3000, lease_ms: 100 });
    await markRetry(db, j!.id, 3500, '503', 'transient', 3001);
    assert.equal(
      (await claimJobs(db, caps, { target: 't1', limit: 1, worker_id: 'w', now: 3400, lease_ms: 100 })).length,
      0,
    );
    const [again] = await claimJobs(db, caps, { target: 't1', limit: 1, worker_id: 'w', now: 3500, lease_ms: 100 });
    assert.equal(again!.attempts, 2);
    // The worker "dies": after the lease another worker takes it.
    const [stolen] = await claimJobs(db, caps, { target: 't1', limit: 1, worker_id: 'w2', now: 3601, lease_ms: 100 });
    assert.equal(stolen!.id, j!.id);
    await markDead(db, j!.id, 'gave up', 'transient', 3700);
    assert.equal(await requeueJob(db, j!.id, 3800), true);
    assert.equal(await requeueJob(db, j!.id, 3800), false, 'a pending job is not re-driven');
    const [redriven] = await claimJobs(db, caps, { target: 't1', limit: 1, worker_id: 'w', now: 3800, lease_ms: 100 });
    assert.equal(redriven!.attempts, 1);
    await markDone(db, j!.id, 3900);
  });

  test('re-driving an old dead write never overwrites a newer delivered one for the same key', async () => {
    const { db, caps } = ctx.hdb();
    const claim = (now: number) => claimJobs(db, caps, { target: 't1', limit: 10, worker_id: 'w', now, lease_ms: 100 });
    const [a] = await enqueueJobs(db, [job('k', 'crm.address_write', 100_000)], 5, 5000);
    await claim(5000);
    await markDead(db, a!, 'faulted', 'transient', 5001);
    const [b] = await enqueueJobs(db, [job('k', 'crm.address_write', 100_000)], 5, 5002);
    const [claimedB] = await claim(5002);
    assert.equal(claimedB!.id, b);
    await markDone(db, b!, 5003);
    await assert.rejects(
      requeueJob(db, a!, 5004),
      (e: unknown) => e instanceof HearthError && e.code === 'conflict' && e.message.includes(b!),
    );
    assert.equal((await listJobs(db, { status: 'pending', limit: 10 })).length, 0, 'nothing re-driven');
    assert.deepEqual(await claim(5005), []);
    // A stream of events (webhook deliveries) is not a state: an old dead one can still be re-driven.
    const [w1] = await enqueueJobs(db, [job('w', 'webhook.deliver')], 5, 5100);
    await claim(5100);
    await markDead(db, w1!, 'faulted', 'transient', 5101);
    const [w2] = await enqueueJobs(db, [job('w', 'webhook.deliver')], 5, 5102);
    await claim(5102);
    await markDone(db, w2!, 5103);
    assert.equal(await requeueJob(db, w1!, 5104), true);
    const [again] = await claim(5104);
    assert.equal(again!.id, w1);
    await markDone(db, w1!, 5105);
  });

  test('concurrent claimers never take the same job', async () => {
    const { db, caps } = ctx.hdb();
    await enqueueJobs(
      db,
      Array.from({ length: 60 }, (_, i) => job(`c${i}`)),
      5,
      4000,
    );
    const claims = await Promise.all(
      Array.from({ length: 6 }, (_, w) =>
        claimJobs(db, caps, { target: 't1', limit: 15, worker_id: `w${w}`, now: 4000, lease_ms: 60_000 }),
      ),
    );
    const ids = claims.flat().map((j) => j.id);
    assert.equal(new Set(ids).size, ids.length, 'no job claimed twice');
    assert.equal(ids.length, 60);
    for (const id of ids) await markDone(db, id, 4001);
  });

  test('late write-backs: delivered past the window, or undelivered past it', async () => {
    const { db, caps } = ctx.hdb();
    await enqueueJobs(
      db,
      [
        { ...job('late1'), origin_at: 10_000 },
        { ...job('ontime'), origin_at: 10_000 },
        { ...job('stuck'), origin_at: 10_000 },
      ],
      5,
      10_000,
    );
    const claimed = await claimJobs(db, caps, { target: 't1', limit: 10, worker_id: 'w', now: 10_000, lease_ms: 1000 });
    const byKey = Object.fromEntries(claimed.map((j) => [j.job_key, j.id]));
    await markDone(db, byKey.late1!, 80_000);
    await markDone(db, byKey.ontime!, 11_000);
    await markRetry(db, byKey.stuck!, 99_000, '503', 'transient', 11_000);
    const late = await lateWritebacks(db, 60_000, 75_000, 10);
    assert.deepEqual(late.map((j) => j.job_key).sort(), ['late1', 'stuck']);
  });
});
