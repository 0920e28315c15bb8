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
  const applyAndWake = async (): Promise<Round> => {
    if (o.apply_linger_ms) await delay(o.apply_linger_ms);
    const r = await applyRound(o, now);
    if (r.jobs > 0) {
      for (const l of deliveryLoops) l.wake();
      o.hdb.signals?.notify('jobs').catch((err: unknown) => o.logger.warn({ err }, 'could not notify other processes'));
    }
    return { did: r.handled, more: r.more };
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
    // A settled batch can make work claimable only if a job it held back waits on one of its keys
    // (the loop saw due jobs it could not claim), or if it did not end done (a retry is due later,
    // a failed delivery's lease runs out): only then does it wake the loop. Otherwise each delivery
    // cost a claim and a due-time query more, for nothing, at one event per wake.
    const watch: Watch = { blocked: false, unfinished: false, settles: 0, settlesAtClaim: 0 };
    const loop = createLoop(
      target,
      () => deliverRound(o, connector, target, workerId, now, random, pool, watch),
      o,
      now,
      () => nextDueAt(o.hdb.db, target),
      (blocked) => {
        watch.blocked = blocked;
        // A batch that settled between the claim and now did not know yet: look again.
        if (blocked && watch.settles !== watch.settlesAtClaim) loop.wake();
      },
    );
    pool.onSettled = () => {
      watch.settles++;
      if (!watch.blocked && !watch.unfinished) return;
      watch.unfinished = false;
      loop.wake();
    };
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

/** What a target's loop knows about its deliveries in flight, to wake itself only when it matters. */
interface Watch {
  /** The last due-time query found due jobs left unclaimed. */
  blocked: boolean;
  /** A delivery since the last wake did not end done (retry, dead, or thrown). */
  unfinished: boolean;
  /** Batches settled so far, and that count when the last claim began. */
  settles: number;
  settlesAtClaim: number;
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

async function applyRound(
  o: WorkerOptions,
  now: () => number,
): Promise<{ handled: number; jobs: number; more: boolean }> {
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
  const handled = r.outcomes.length + r.failed;
  // A full read may have left events behind, and an event that failed (not yet parked) is tried
  // again: look again at once. Otherwise the inbox was drained: wait for a wake or the poll.
  return { handled, jobs, more: r.claimed >= o.apply_batch || handled < r.claimed };
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
  watch: Watch,
): Promise<Round> {
  if (pool.full()) {
    await pool.any();
    return { did: 1, more: true };
  }
  const plan = o.gate ? await o.gate(target) : SEND_ALL;
  const kinds = claimFilter(plan);
  // Held: the jobs stay queued; look again after a poll interval rather than spin on due jobs.
  if (kinds === 'hold') return (await delay(o.poll_interval_ms), { did: 0, more: false });
  const opts = deliverOptions(o, target, workerId, now, random, watch);
  watch.settlesAtClaim = watch.settles;
  const jobs = await claimDueJobs(o.hdb, connector, target, opts, kinds);
  if (jobs.length === 0) return { did: 0, more: false };
  let shadowed = o.shadow ? jobs.filter((j) => gateOf(plan, j.kind) === 'shadow') : [];
  if (shadowed.length > 0) {
    // The plan was read before the claim: shadow turned off in between released its held jobs, and
    // this claim may hold them again. Read the gate again (a version check) and send what is now on.
    const fresh = await o.gate!(target);
    shadowed = shadowed.filter((j) => gateOf(fresh, j.kind) !== 'send');
  }
  if (shadowed.length > 0) await o.shadow!(shadowed, now());
  const sending = shadowed.length > 0 ? jobs.filter((j) => !shadowed.includes(j)) : jobs;
  if (sending.length > 0)
    pool.add(
      deliverClaimedJobs(o.hdb, connector, sending, opts).catch((err: unknown) => {
        // The jobs stay running until their lease expires, then are claimed again.
        watch.unfinished = true;
        o.logger.error({ err, loop: target }, 'delivery failed');
      }),
    );
  // Fewer than a full batch: every job due and free to go was claimed; the rest wait on a wake.
  return { did: jobs.length, more: jobs.length >= Math.min(o.batch, connector.maxBatch ?? o.batch) };
}

function deliverOptions(
  o: WorkerOptions,
  target: string,
  workerId: string,
  now: () => number,
  random: () => number,
  watch: { unfinished: boolean },
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
      if (s.status !== 'done') watch.unfinished = true;
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

/** What a round did, and whether work may be left that it could not take (run again at once). */
interface Round {
  did: number;
  more: boolean;
}

function createLoop(
  name: string,
  round: () => Promise<Round>,
  o: WorkerOptions,
  now: () => number,
  nextDue?: () => Promise<number | null>,
  /** Told after each due-time query whether due jobs were left unclaimed (waiting on a key in flight, or held). */
  onBlocked?: (blocked: boolean) => void,
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
      const startedAt = now();
      let r: Round;
      try {
        r = await round();
      } catch (err) {
        o.logger.error({ err, loop: name }, 'worker round failed');
        await sleep(o.poll_interval_ms * 10);
        continue;
      }
      // Work left behind: at once. Drained (work or not): sleep like an idle loop, without backing
      // off after work. Work committed meanwhile woke the loop, so that sleep returns at once.
      if (r.did > 0) idleRounds = 0;
      if (r.more || stopped) continue;
      const due = nextDue ? await nextDue().catch(() => null) : null;
      // A job already due when the round claimed, yet not claimed, waits on an earlier job of its
      // key (or its flow is held): the settling delivery wakes the loop, so no spinning on it.
      const blocked = due !== null && due <= startedAt;
      onBlocked?.(blocked);
      const poll = o.poll_interval_ms * Math.min(MAX_IDLE_BACKOFF, 2 ** idleRounds++);
      const wait = due === null || blocked ? poll : Math.max(0, Math.min(poll, due - now()));
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
