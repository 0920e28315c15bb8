import type { KindFilter } from './gate.ts';
import type { Connector, DeliveryResult, OutboundJob } from '../canonical/types.ts';
import type { HearthDb } from '../db/database.ts';
import type { Kysely } from 'kysely';
import type { Database, JobsTable } from '../db/schema.ts';
import { scrubSecrets } from '../log.ts';
import { settle, type RetryPolicy, type Settlement } from './backoff.ts';
import { rememberWrites } from './echo.ts';
import { insertEvents } from './inbox.ts';
import { claimJobs, markAllDone, markDead, markDone, markRetry } from './jobs.ts';

export interface DeliverOptions {
  worker_id: string;
  lease_ms: number;
  batch: number;
  retry: RetryPolicy;
  now: () => number;
  random: () => number;
  onSettled?: (job: JobsTable, s: Settlement, now: number) => void;
  /** In the settling transaction of a done job (the crosswalk learns the record it landed on). */
  onDelivered?: (
    trx: Kysely<Database>,
    system: string,
    job: JobsTable,
    result: Extract<DeliveryResult, { ok: true }>,
    now: number,
  ) => Promise<void>;
}

/**
 * Claims due jobs of one target, hands them to the connector as one batch and settles each:
 * done (the crosswalk and echo fingerprints learn what was written), retry later, or dead letter.
 * Returns how many jobs were claimed.
 */
export async function deliverDueJobs(
  hdb: HearthDb,
  connector: Connector,
  target: string,
  o: DeliverOptions,
): Promise<number> {
  const jobs = await claimDueJobs(hdb, connector, target, o);
  if (jobs.length > 0) await deliverClaimedJobs(hdb, connector, jobs, o);
  return jobs.length;
}

/** Claims up to a batch of due jobs (distinct keys: a key's next job waits for its earlier one). */
export async function claimDueJobs(
  hdb: HearthDb,
  connector: Connector,
  target: string,
  o: DeliverOptions,
  kinds: KindFilter = null,
): Promise<JobsTable[]> {
  // A connector that cannot authenticate (revoked grant) leaves its jobs waiting, attempts untouched.
  if (!connector.outbound || connector.outbound.ready?.() === false) return [];
  const limit = Math.min(o.batch, connector.maxBatch ?? o.batch);
  return claimJobs(hdb.db, hdb.caps, {
    target,
    limit,
    worker_id: o.worker_id,
    now: o.now(),
    lease_ms: o.lease_ms,
    kinds,
  });
}

/** Delivers claimed jobs as one batch and settles each. */
export async function deliverClaimedJobs(
  hdb: HearthDb,
  connector: Connector,
  jobs: JobsTable[],
  o: DeliverOptions,
): Promise<void> {
  const outbound = connector.outbound;
  if (!outbound) return;
  const batch = jobs.map(toOutbound);
  await rememberExpected(hdb, connector, batch, o.now());
  const results = await deliverSafely(outbound.deliver.bind(outbound), batch);
  const settled = jobs.map((job, i) => {
    const result = results[i] ?? {
      ok: false as const,
      kind: 'unknown' as const,
      message: 'connector returned no result',
    };
    return { job, result, s: settle(result, job.attempts, o.retry, o.random) };
  });
  const now = o.now();
  try {
    // One commit for the whole batch: a commit costs more than the few rows each settlement writes.
    // The done jobs are marked with one statement: per job, only what each taught is written.
    await hdb.db.transaction().execute(async (trx) => {
      const done = settled.filter((x) => x.s.status === 'done').map((x) => x.job.id);
      await markAllDone(trx, done, now);
      for (const x of settled) await writeSettlement(trx, connector.id, x.job, x.result, x.s, now, o, true);
    });
  } catch {
    // One settlement that cannot be written (a crosswalk conflict...) must not hold up the others.
    let failure: unknown;
    for (const x of settled) {
      try {
        await hdb.db.transaction().execute((trx) => writeSettlement(trx, connector.id, x.job, x.result, x.s, now, o));
        o.onSettled?.(x.job, x.s, now);
      } catch (err) {
        failure ??= err; // that job stays running until its lease expires, then is delivered again
      }
    }
    if (failure !== undefined) throw failure;
    return;
  }
  for (const x of settled) o.onSettled?.(x.job, x.s, now);
}

async function rememberExpected(hdb: HearthDb, connector: Connector, batch: OutboundJob[], now: number): Promise<void> {
  const expect = connector.outbound?.expectedWrites;
  if (!expect) return;
  for (const job of batch) {
    const e = expect.call(connector.outbound, job);
    if (e) await rememberWrites(hdb.db, connector.id, e.external_id, e.written, job.id, now);
  }
}

function toOutbound(j: JobsTable): OutboundJob {
  return { id: j.id, kind: j.kind, attempts: j.attempts, payload: JSON.parse(j.payload) };
}

// A connector that throws instead of returning results is a bug, but the jobs must still settle.
async function deliverSafely(
  deliver: (jobs: OutboundJob[]) => Promise<DeliveryResult[]>,
  jobs: OutboundJob[],
): Promise<DeliveryResult[]> {
  try {
    return await deliver(jobs);
  } catch (err) {
    const message = scrubSecrets((err as Error).message ?? String(err));
    return jobs.map(() => ({ ok: false as const, kind: 'unknown' as const, message }));
  }
}

async function writeSettlement(
  trx: Kysely<Database>,
  system: string,
  job: JobsTable,
  result: DeliveryResult,
  s: Settlement,
  now: number,
  o: DeliverOptions,
  doneMarked = false,
): Promise<void> {
  if (s.status === 'done') {
    if (!doneMarked) await markDone(trx, job.id, now);
    if (!result.ok) return;
    if (o.onDelivered) await o.onDelivered(trx, system, job, result, now);
    if (result.external_id && result.written)
      await rememberWrites(trx, system, result.external_id, result.written, job.id, now);
    // A read job (contact fetch) hands back what it read as inbound events: they join the inbox here.
    if (result.inbound?.length) await insertEvents(trx, system, result.inbound, now);
  } else if (s.status === 'retry') {
    await markRetry(trx, job.id, now + s.delay_ms, scrubSecrets(s.error), s.kind, now);
  } else {
    await markDead(trx, job.id, scrubSecrets(s.error), s.kind, now);
  }
}
