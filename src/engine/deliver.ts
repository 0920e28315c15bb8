import type { KindFilter } from './gate.ts';
import type { Connector, DeliveryResult, OutboundJob } from '../canonical/types.ts';
import type { HearthDb } from '../db/database.ts';
import type { Kysely } from 'kysely';
import type { Database, JobsTable } from '../db/schema.ts';
import { scrubSecrets } from '../log.ts';
import { settle, type RetryPolicy, type Settlement } from './backoff.ts';
import { rememberWrites, type WrittenValues } from './echo.ts';
import { insertEvents } from './inbox.ts';
import { claimJobs, markAllDone, markDead, markRetry } from './jobs.ts';

export interface DeliverOptions {
  worker_id: string;
  lease_ms: number;
  batch: number;
  retry: RetryPolicy;
  now: () => number;
  random: () => number;
  onSettled?: (job: JobsTable, s: Settlement, now: number) => void;
  /**
   * In the settling transaction, once per settled batch with its done jobs in claim order (the
   * crosswalk learns the records they landed on): set-wise, a few statements for the whole batch.
   */
  onDelivered?: (trx: Kysely<Database>, system: string, delivered: readonly Delivered[], now: number) => Promise<void>;
}

/** A job a connector delivered, with what it reported. */
export interface Delivered {
  job: JobsTable;
  result: Extract<DeliveryResult, { ok: true }>;
}

/** One job of a delivered batch with its result and what it settles to. */
interface Settled {
  job: JobsTable;
  result: DeliveryResult;
  s: Settlement;
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
  const settled: Settled[] = jobs.map((job, i) => {
    const result = results[i] ?? {
      ok: false as const,
      kind: 'unknown' as const,
      message: 'connector returned no result',
    };
    return { job, result, s: settle(result, job.attempts, o.retry, o.random) };
  });
  const now = o.now();
  try {
    // One commit for the whole batch: a commit costs more than the few rows each settlement writes,
    // and what the done jobs taught is written set-wise (a few statements, not a few per job).
    await hdb.db.transaction().execute((trx) => writeSettlements(trx, connector.id, settled, now, o));
  } catch {
    // One settlement that cannot be written (a crosswalk conflict...) must not hold up the others.
    let failure: unknown;
    for (const x of settled) {
      try {
        await hdb.db.transaction().execute((trx) => writeSettlements(trx, connector.id, [x], now, o));
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

/** Before sending: what the jobs are about to write to records already known (one insert for the batch). */
async function rememberExpected(hdb: HearthDb, connector: Connector, batch: OutboundJob[], now: number): Promise<void> {
  const expect = connector.outbound?.expectedWrites;
  if (!expect) return;
  const writes: WrittenValues[] = [];
  for (const job of batch) {
    const e = expect.call(connector.outbound, job);
    if (e) writes.push({ external_id: e.external_id, written: e.written, job_id: job.id });
  }
  await rememberWrites(hdb.db, connector.id, writes, now);
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

/**
 * Writes a batch's settlements in the caller's transaction: the done jobs marked with one
 * statement, what they taught (crosswalk links, echo fingerprints, read events) set-wise for the
 * batch; a retry or a dead letter (each with its own time and error) per job.
 */
async function writeSettlements(
  trx: Kysely<Database>,
  system: string,
  settled: Settled[],
  now: number,
  o: DeliverOptions,
): Promise<void> {
  const done = settled.filter((x) => x.s.status === 'done');
  await markAllDone(
    trx,
    done.map((x) => x.job.id),
    now,
  );
  const delivered: Delivered[] = [];
  for (const { job, result } of done) if (result.ok) delivered.push({ job, result });
  if (o.onDelivered && delivered.length > 0) await o.onDelivered(trx, system, delivered, now);
  await rememberWrites(
    trx,
    system,
    delivered.flatMap(({ job, result }) =>
      result.external_id && result.written
        ? [{ external_id: result.external_id, written: result.written, job_id: job.id }]
        : [],
    ),
    now,
  );
  // A read job (contact fetch) hands back what it read as inbound events: they join the inbox here.
  const inbound = delivered.flatMap(({ result }) => result.inbound ?? []);
  if (inbound.length > 0) await insertEvents(trx, system, inbound, now);
  for (const { job, s } of settled) {
    if (s.status === 'retry') await markRetry(trx, job.id, now + s.delay_ms, scrubSecrets(s.error), s.kind, now);
    else if (s.status === 'dead') await markDead(trx, job.id, scrubSecrets(s.error), s.kind, now);
  }
}
