import type { Connector } from '../canonical/types.ts';
import type { HearthDb } from '../db/database.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { newId } from '../ids.ts';
import { applyPendingEvents, type EventApplier } from './apply-loop.ts';
import type { RetryPolicy } from './backoff.ts';
import { connectorOfTarget } from '../canonical/fields.ts';
import { deliverDueJobs, type DeliverOptions } from './deliver.ts';
import { nextDueAt } from './jobs.ts';

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
  /** Inbox events applied per transaction. */
  apply_batch: number;
  poll_interval_ms: number;
  logger: Logger;
  metrics?: Metrics;
  now?: () => number;
  random?: () => number;
}

export interface Workers {
  /** Look for work now (a webhook was just stored). */
  wake(): void;
  stop(): Promise<void>;
}

/**
 * One loop applies the inbox; one loop per target delivers its jobs, so a slow CRM never holds
 * up webhooks to other readers. An idle loop sleeps until woken, until its next retry is due,
 * or for the poll interval (other processes may have added work), whichever comes first.
 */
export function startWorkers(o: WorkerOptions): Workers {
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  const workerId = newId('wrk');
  const loops: Loop[] = [createLoop('inbox', () => applyRound(o, now), o, now)];
  for (const target of o.targets) {
    const connector = o.connectors[connectorOfTarget(target)];
    if (!connector?.outbound) {
      o.logger.warn({ target }, 'no outbound connector for job target; its jobs wait');
      continue;
    }
    loops.push(
      createLoop(
        target,
        () => deliverRound(o, connector, target, workerId, now, random),
        o,
        now,
        () => nextDueAt(o.hdb.db, target),
      ),
    );
  }
  return {
    wake: () => loops.forEach((l) => l.wake()),
    stop: async () => {
      await Promise.all(loops.map((l) => l.stop()));
    },
  };
}

async function applyRound(o: WorkerOptions, now: () => number): Promise<number> {
  const r = await applyPendingEvents(o.hdb, o.applier, o.apply_batch, now);
  if (o.metrics) {
    for (const k of ['applied', 'echo', 'ignored', 'failed'] as const)
      if (r[k]) o.metrics.eventsApplied.inc({ outcome: k }, r[k]);
    for (const { outcome } of r.outcomes)
      for (const rej of outcome.rejected) o.metrics.ownershipRejections.inc({ field: rej.field, source: 'event' });
  }
  return r.outcomes.length + r.failed;
}

function deliverRound(
  o: WorkerOptions,
  connector: Connector,
  target: string,
  workerId: string,
  now: () => number,
  random: () => number,
): Promise<number> {
  return deliverDueJobs(o.hdb, connector, target, {
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
  });
}

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
      if (did > 0 || stopped) continue;
      const due = nextDue ? await nextDue().catch(() => null) : null;
      const wait = due === null ? o.poll_interval_ms : Math.max(0, Math.min(o.poll_interval_ms, due - now()));
      await sleep(wait);
    }
  };
  const done = run();
  return {
    wake: () => {
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
