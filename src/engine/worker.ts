import { setTimeout as delay } from 'node:timers/promises';
import type { Connector } from '../canonical/types.ts';
import type { JobsTable } from '../db/schema.ts';
import type { HearthDb } from '../db/database.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { newId } from '../ids.ts';
import { applyPendingEvents, type EventApplier } from './apply-loop.ts';
import type { RetryPolicy } from './backoff.ts';
import { connectorOfTarget } from '../canonical/fields.ts';
import { claimDueJobs, deliverClaimedJobs, type DeliverOptions } from './deliver.ts';
import { nextDueAt } from './jobs.ts';
import { claimFilter, gateOf, SEND_ALL, type GatePlan } from './gate.ts';

export interface WorkerOptions {
  hdb: HearthDb;
  /** What applying an inbox event means (flows/apply-events.ts). */
  applier: EventApplier<any>;
  /** Called in the settling transaction when a job is done (the crosswalk learns the record). */
  onDelivered?: DeliverOptions['onDelivered'];
  connectors: Partial<Record<string, Connector>>;
  /** Job targets to serve (`hubspot`, `webhook:loyalty`...). */
  targets: string[];
  retry: RetryPolicy;
  lease_ms: number;
  batch: number;
  /** Batches of a target in flight at once (distinct keys; one key's jobs stay in order). Default 4. */
  concurrency?: number;
  /** Inbox events applied per transaction. */
  apply_batch: number;
  /**
   * Group commit: the apply loop waits this long before each round, so events arriving close
   * together share one transaction (each round pays fixed reads and a commit whatever its size).
   * Measured at 100 events/s on the 2-core machine, 3 runs each: 0 ms -> Hearth CPU 9.1 ms/event,
   * lag p50 11 ms (8-22), p99 66 ms; 5 ms -> 8.1 ms/event, p50 11 ms (10-11), p99 49 ms; 10 ms ->
   * p50 16 ms. An isolated event waits this long more. Default 0 (the config's default is 5).
   */
  apply_linger_ms?: number;
  poll_interval_ms: number;
  logger: Logger;
  metrics?: Metrics;
  now?: () => number;
  random?: () => number;
  /** Asked once per batch of a target (injected, e.g. runtime flags): send, hold queued, or shadow. */
  gate?: (target: string) => Promise<GatePlan>;
  /** With `shadow`: records the claimed jobs instead of delivering them (and settles them). */
  shadow?: (jobs: JobsTable[], now: number) => Promise<void>;
}

export interface Workers {
  /** Look for work now (jobs or events were just stored). */
  wake(): void;
  /** Apply the inbox now (a webhook was just stored); its jobs wake their targets when committed. */
  wakeInbox(): void;
  stop(): Promise<void>;
}

/**
 * One loop applies the inbox; one loop per target delivers its jobs, so a slow CRM never holds
 * up webhooks to other readers. A target's loop keeps several batches in flight: a claimed batch
 * holds distinct keys and a key's next job waits until its earlier one settles, so keys run in
 * parallel while each key stays in order, and one hung call holds up only its own batch. An idle
 * loop sleeps until woken, until its next retry is due, or for the poll interval (other processes
 * may have added work; it doubles per empty round, up to 8 intervals), whichever comes first.
 */
export function startWorkers(o: WorkerOptions): Workers {
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  const workerId = newId('wrk');
  const deliveryLoops: Loop[] = [];
  // Jobs just committed by the apply loop are due now: their targets look at once, not at the next poll.
  const applyAndWake = async () => {
    if (o.apply_linger_ms) await delay(o.apply_linger_ms);
    const r = await applyRound(o, now);
    if (r.jobs > 0) {
      for (const l of deliveryLoops) l.wake();
      o.hdb.signals?.notify('jobs').catch((err: unknown) => o.logger.warn({ err }, 'could not notify other processes'));
    }
    return r.handled;
  };
  const loops: Loop[] = [createLoop('inbox', applyAndWake, o, now)];
  const pools: InFlight[] = [];
  for (const target of o.targets) {
    const connector = o.connectors[connectorOfTarget(target)];
    if (!connector?.outbound) {
      o.logger.warn({ target }, 'no outbound connector for job target; its jobs wait');
      continue;
    }
    const pool = createInFlight(o.concurrency ?? 4);
    const loop = createLoop(
      target,
      () => deliverRound(o, connector, target, workerId, now, random, pool),
      o,
      now,
      () => nextDueAt(o.hdb.db, target),
    );
    pool.onSettled = () => loop.wake();
    loops.push(loop);
    deliveryLoops.push(loop);
    pools.push(pool);
  }
  return {
    wake: () => loops.forEach((l) => l.wake()),
    wakeInbox: () => loops[0]!.wake(),
    stop: async () => {
      await Promise.all(loops.map((l) => l.stop()));
      await Promise.all(pools.map((p) => p.drain()));
    },
  };
}

/** The deliveries of one target in flight, at most `size` at once. */
interface InFlight {
  full(): boolean;
  add(p: Promise<void>): void;
  /** Resolves when one delivery in flight settles. */
  any(): Promise<void>;
  drain(): Promise<void>;
  onSettled: () => void;
}

function createInFlight(size: number): InFlight {
  const running = new Set<Promise<void>>();
  const pool: InFlight = {
    full: () => running.size >= size,
    add: (p) => {
      const tracked = p.finally(() => {
        running.delete(tracked);
        pool.onSettled();
      });
      running.add(tracked);
    },
    any: () => Promise.race(running),
    drain: async () => {
      await Promise.all(running);
    },
    onSettled: () => {},
  };
  return pool;
}

async function applyRound(o: WorkerOptions, now: () => number): Promise<{ handled: number; jobs: number }> {
  const r = await applyPendingEvents(o.hdb, o.applier, o.apply_batch, now);
  if (o.metrics) {
    for (const k of ['applied', 'echo', 'ignored', 'failed'] as const)
      if (r[k]) o.metrics.eventsApplied.inc({ outcome: k }, r[k]);
    for (const { outcome } of r.outcomes)
      for (const rej of outcome.rejected) o.metrics.ownershipRejections.inc({ field: rej.field, source: 'event' });
  }
  // Deferred work (an order's enrichment webhook) enqueues jobs an outcome does not count: any
  // applied event may have queued some.
  const jobs = r.outcomes.reduce((n, { outcome }) => n + outcome.jobs, 0) + r.applied;
  return { handled: r.outcomes.length + r.failed, jobs };
}

/** Claims a batch and starts delivering it without waiting, unless the target's batches in flight are at the limit. */
async function deliverRound(
  o: WorkerOptions,
  connector: Connector,
  target: string,
  workerId: string,
  now: () => number,
  random: () => number,
  pool: InFlight,
): Promise<number> {
  if (pool.full()) {
    await pool.any();
    return 1;
  }
  const plan = o.gate ? await o.gate(target) : SEND_ALL;
  const kinds = claimFilter(plan);
  // Held: the jobs stay queued; look again after a poll interval rather than spin on due jobs.
  if (kinds === 'hold') return (await delay(o.poll_interval_ms), 0);
  const opts = deliverOptions(o, target, workerId, now, random);
  const jobs = await claimDueJobs(o.hdb, connector, target, opts, kinds);
  if (jobs.length === 0) return 0;
  const shadowed = o.shadow ? jobs.filter((j) => gateOf(plan, j.kind) === 'shadow') : [];
  if (shadowed.length > 0) await o.shadow!(shadowed, now());
  const sending = shadowed.length > 0 ? jobs.filter((j) => !shadowed.includes(j)) : jobs;
  if (sending.length > 0)
    pool.add(
      deliverClaimedJobs(o.hdb, connector, sending, opts).catch((err: unknown) => {
        // The jobs stay running until their lease expires, then are claimed again.
        o.logger.error({ err, loop: target }, 'delivery failed');
      }),
    );
  return jobs.length;
}

function deliverOptions(
  o: WorkerOptions,
  target: string,
  workerId: string,
  now: () => number,
  random: () => number,
): DeliverOptions {
  return {
    worker_id: workerId,
    lease_ms: o.lease_ms,
    batch: o.batch,
    retry: o.retry,
    now,
    random,
    ...(o.onDelivered ? { onDelivered: o.onDelivered } : {}),
    onSettled: (job, s, at) => {
      o.metrics?.jobsSettled.inc({ target, outcome: s.status, kind: job.kind });
      if (s.status === 'done') o.metrics?.writebackLag.observe({ target }, Math.max(0, at - job.origin_at) / 1000);
      if (s.status === 'dead')
        o.logger.warn({ job_id: job.id, target, error: s.error, kind: s.kind }, 'job dead-lettered');
    },
  };
}

/**
 * An idle loop's poll interval doubles per empty round up to this factor (default 100 ms -> 800 ms).
 * Work queued in this process wakes it at once, and on PostgreSQL other processes' work wakes it
 * through NOTIFY: the poll only catches what neither announced (another process on SQLite).
 */
const MAX_IDLE_BACKOFF = 8;

interface Loop {
  wake(): void;
  stop(): Promise<void>;
}

function createLoop(
  name: string,
  round: () => Promise<number>,
  o: WorkerOptions,
  now: () => number,
  nextDue?: () => Promise<number | null>,
): Loop {
  let stopped = false;
  let wakeUp: (() => void) | null = null;
  let pendingWake = false;
  // Empty rounds in a row: an idle loop polls less often (each target's loop costs a claim and a
  // due-time query per poll, so idle cost grew with every subscribed system); a wake resets it.
  let idleRounds = 0;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (pendingWake) {
        pendingWake = false;
        resolve();
        return;
      }
      const t = setTimeout(() => {
        wakeUp = null;
        resolve();
      }, ms);
      wakeUp = () => {
        clearTimeout(t);
        wakeUp = null;
        resolve();
      };
    });
  const run = async () => {
    while (!stopped) {
      let did = 0;
      try {
        did = await round();
      } catch (err) {
        o.logger.error({ err, loop: name }, 'worker round failed');
        await sleep(o.poll_interval_ms * 10);
        continue;
      }
      if (did > 0 || stopped) {
        idleRounds = 0;
        continue;
      }
      const due = nextDue ? await nextDue().catch(() => null) : null;
      const poll = o.poll_interval_ms * Math.min(MAX_IDLE_BACKOFF, 2 ** idleRounds++);
      const wait = due === null ? poll : Math.max(0, Math.min(poll, due - now()));
      await sleep(wait);
    }
  };
  const done = run();
  return {
    wake: () => {
      idleRounds = 0;
      if (wakeUp) wakeUp();
      else pendingWake = true;
    },
    stop: async () => {
      stopped = true;
      wakeUp?.();
      await done;
    },
  };
}
