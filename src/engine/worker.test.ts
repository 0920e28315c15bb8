import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Connector } from '../canonical/types.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { createLogger } from '../log.ts';
import { enqueueJobs } from './jobs.ts';
import { isQuiet } from './quiet.ts';
import { startWorkers } from './worker.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeEachDialect('delivery loop when idle', (ctx) => {
  test('polls less often while nothing is due; a wake still delivers at once', async () => {
    const { db } = ctx.hdb();
    let polls = 0;
    const delivered: string[] = [];
    const connector: Connector = {
      id: 'idle',
      outbound: {
        kinds: ['idle.test'],
        // Asked once per claim: counts the loop's polls.
        ready: () => (polls++, true),
        deliver: async (jobs) => jobs.map((j) => (delivered.push(j.id), { ok: true as const })),
      },
    };
    const workers = startWorkers({
      hdb: ctx.hdb(),
      applier: {
        load: async () => ({}),
        apply: () => ({ status: 'ignored', jobs: 0, rejected: [] }),
        settle() {},
        flush: async () => {},
      },
      connectors: { idle: connector },
      targets: ['idle'],
      retry: { max_attempts: 3, base_delay_ms: 10, max_delay_ms: 100 },
      lease_ms: 10_000,
      batch: 10,
      apply_batch: 10,
      poll_interval_ms: 10,
      logger: createLogger('silent'),
    });
    try {
      await sleep(600);
      // Without backing off: about 60 polls at 10 ms. Doubling up to 80 ms: about 10.
      assert.ok(polls >= 2 && polls <= 20, `idle polls in 600 ms: ${polls}`);
      const [id] = await enqueueJobs(
        db,
        [{ target: 'idle', kind: 'idle.test', job_key: 'k', payload: {}, origin_at: Date.now() }],
        3,
        Date.now(),
      );
      workers.wake();
      const woken = Date.now();
      while (!delivered.includes(id!) && Date.now() - woken < 5000) await sleep(5);
      assert.ok(delivered.includes(id!), 'a wake delivers without waiting for the backed-off poll');
      while (!(await isQuiet(db))) await sleep(5);
    } finally {
      await workers.stop();
    }
  });
});
