import type { KindFilter } from './gate.ts';
import { sql, type Kysely } from 'kysely';
import type { DialectCaps } from '../db/database.ts';
import type { Database, JobStatus, JobsTable } from '../db/schema.ts';
import type { FailureKind } from '../canonical/types.ts';
import { HearthError } from '../errors.ts';
import { newId } from '../ids.ts';

type Db = Kysely<Database>;

export interface NewJob {
  target: string;
  kind: string;
  job_key: string;
  payload: unknown;
  origin_at: number;
  event_id?: string | null;
  customer_id?: string | null;
  /** Only the latest job of this kind and key matters (state, not a stream of events). */
  supersedes_pending?: boolean;
}

/**
 * Writes outbound jobs: call it inside the transaction that made the state change (the
 * transactional outbox). A newer job of the same kind and key supersedes older ones that have
 * not started when it says so: only the latest address of a contact is worth writing, while
 * webhook events are a stream and are all delivered.
 */
export async function enqueueJobs(
  db: Db,
  jobs: NewJob[],
  maxAttempts: number,
  now: number,
  opts: EnqueueOptions = {},
): Promise<string[]> {
  if (jobs.length === 0) return [];
  await supersedePending(
    db,
    jobs.filter((j) => !unseenKey(j, opts)),
    now,
  );
  // Within one call, too, only the last job of a superseding kind and key stays pending.
  const last = new Map<string, number>();
  jobs.forEach((j, i) => {
    if (j.supersedes_pending) last.set(`${j.kind}\u0000${j.job_key}`, i);
  });
  const rows = jobs.map((j, i) => ({
    id: newId('job', now),
    target: j.target,
    kind: j.kind,
    job_key: j.job_key,
    payload: JSON.stringify(j.payload),
    status:
      j.supersedes_pending && last.get(`${j.kind}\u0000${j.job_key}`) !== i
        ? ('superseded' as const)
        : ('pending' as const),
    attempts: 0,
    max_attempts: maxAttempts,
    run_at: now,
    locked_by: null,
    locked_until: null,
    last_error: null,
    last_error_kind: null,
    event_id: j.event_id ?? null,
    customer_id: j.customer_id ?? null,
    origin_at: j.origin_at,
    created_at: now,
    updated_at: now,
    done_at: null,
    supersedes: j.supersedes_pending ? 1 : 0,
  }));
  for (let i = 0; i < rows.length; i += 200)
    await db
      .insertInto('jobs')
      .values(rows.slice(i, i + 200))
      .execute();
  return rows.map((r) => r.id);
}

export interface EnqueueOptions {
  /**
   * Customers created in the caller's transaction: a job whose key names one of them has no
   * earlier job to supersede (its id did not exist before), so the superseding update is skipped.
   */
  newCustomers?: ReadonlySet<string>;
}

function unseenKey(j: NewJob, opts: EnqueueOptions): boolean {
  const c = j.customer_id;
  return Boolean(c && opts.newCustomers?.has(c) && j.job_key.includes(c));
}

async function supersedePending(db: Db, jobs: NewJob[], now: number): Promise<void> {
  const keysByKind = new Map<string, Set<string>>();
  for (const j of jobs)
    if (j.supersedes_pending) keysByKind.set(j.kind, (keysByKind.get(j.kind) ?? new Set()).add(j.job_key));
  for (const [kind, keys] of keysByKind) {
    const list = [...keys];
    for (let i = 0; i < list.length; i += 200) {
      await db
        .updateTable('jobs')
        .set({ status: 'superseded', updated_at: now })
        .where('kind', '=', kind)
        .where('status', '=', 'pending')
        .where('job_key', 'in', list.slice(i, i + 200))
        .execute();
    }
  }
}

export interface ClaimOptions {
  target: string;
  limit: number;
  worker_id: string;
  now: number;
  lease_ms: number;
  /** Only these job kinds, or all but these (a held flow); absent: every kind. */
  kinds?: KindFilter;
}

/**
 * Claims due jobs for one target. A job is due when pending and its time has come, or running
 * with an expired lease (its worker died). A job waits while an earlier job with the same key is
 * unfinished, so writes to one contact happen in order, across processes too: on PostgreSQL the
 * candidates are locked with SKIP LOCKED, so concurrent claimers never take the same job.
 */
export async function claimJobs(db: Db, caps: DialectCaps, o: ClaimOptions): Promise<JobsTable[]> {
  let due = db
    .selectFrom('jobs as j')
    .select('j.id')
    .where('j.target', '=', o.target)
    .where((eb) =>
      eb.or([
        eb.and([eb('j.status', '=', 'pending'), eb('j.run_at', '<=', o.now)]),
        eb.and([eb('j.status', '=', 'running'), eb('j.locked_until', '<', o.now)]),
      ]),
    )
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('jobs as p')
            .select('p.id')
            .whereRef('p.job_key', '=', 'j.job_key')
            .whereRef('p.id', '<', 'j.id')
            .where('p.status', 'in', ['pending', 'running']),
        ),
      ),
    )
    .orderBy('j.id')
    .limit(o.limit);
  if (o.kinds && 'only' in o.kinds) due = due.where('j.kind', 'in', o.kinds.only);
  if (o.kinds && 'except' in o.kinds) due = due.where('j.kind', 'not in', o.kinds.except);
  if (caps.skipLocked) due = due.forUpdate().skipLocked();
  const rows = await db
    .updateTable('jobs')
    .set({
      status: 'running',
      locked_by: o.worker_id,
      locked_until: o.now + o.lease_ms,
      attempts: sql<number>`attempts + 1`,
      updated_at: o.now,
    })
    .where('id', 'in', due)
    .returningAll()
    .execute();
  return rows.sort((a, b) => (a.id < b.id ? -1 : 1));
}

export async function markDone(db: Db, id: string, now: number): Promise<void> {
  await markAllDone(db, [id], now);
}

/** Marks jobs done with one statement per 200 (a batch's settlement, not one statement per job). */
export async function markAllDone(db: Db, ids: string[], now: number): Promise<void> {
  for (let i = 0; i < ids.length; i += 200)
    await db
      .updateTable('jobs')
      .set({ status: 'done', done_at: now, locked_by: null, locked_until: null, updated_at: now })
      .where('id', 'in', ids.slice(i, i + 200))
      .execute();
}

export async function markRetry(
  db: Db,
  id: string,
  runAt: number,
  error: string,
  kind: FailureKind,
  now: number,
): Promise<void> {
  await db
    .updateTable('jobs')
    .set({
      status: 'pending',
      run_at: runAt,
      last_error: error,
      last_error_kind: kind,
      locked_by: null,
      locked_until: null,
      updated_at: now,
    })
    .where('id', '=', id)
    .execute();
}

export async function markDead(db: Db, id: string, error: string, kind: FailureKind, now: number): Promise<void> {
  await db
    .updateTable('jobs')
    .set({
      status: 'dead',
      last_error: error,
      last_error_kind: kind,
      locked_by: null,
      locked_until: null,
      updated_at: now,
    })
    .where('id', '=', id)
    .execute();
}

/**
 * Re-drives a dead (or superseded) job: a fresh attempt budget, due now. Returns false if it is
 * not dead or superseded. A state job (an address, an opt-in) is re-driven only while it is the
 * newest job of its kind and key: an older one would overwrite what a newer one wrote or is about
 * to write, so that answers `conflict` (the newer job is the one to re-drive). The check and the
 * update are one statement, so a newer job enqueued meanwhile either blocks the re-drive or, being
 * pending, supersedes the re-driven job when it is enqueued.
 */
export async function requeueJob(db: Db, id: string, now: number): Promise<boolean> {
  const res = await db
    .updateTable('jobs')
    .set({ status: 'pending', attempts: 0, run_at: now, updated_at: now })
    .where('id', '=', id)
    .where('status', 'in', ['dead', 'superseded'])
    .where((eb) =>
      eb.or([
        eb('supersedes', '=', 0),
        eb.not(
          eb.exists(
            eb
              .selectFrom('jobs as n')
              .select('n.id')
              .whereRef('n.job_key', '=', 'jobs.job_key')
              .whereRef('n.kind', '=', 'jobs.kind')
              .whereRef('n.id', '>', 'jobs.id'),
          ),
        ),
      ]),
    )
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) === 1) return true;
  const newer = await db
    .selectFrom('jobs as o')
    .innerJoin('jobs as n', (j) => j.onRef('n.job_key', '=', 'o.job_key').onRef('n.kind', '=', 'o.kind'))
    .select(['n.id', 'n.status'])
    .where('o.id', '=', id)
    .where('o.supersedes', '=', 1)
    .where('o.status', 'in', ['dead', 'superseded'])
    .whereRef('n.id', '>', 'o.id')
    .orderBy('n.id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (newer)
    throw new HearthError(
      'conflict',
      `job ${id} is superseded by newer job ${newer.id} (${newer.status}) for the same key; re-drive that one instead`,
    );
  return false;
}

export interface JobFilter {
  status?: JobStatus | undefined;
  target?: string | undefined;
  customer_id?: string | undefined;
  /** Return jobs with ids after this one (pagination). */
  after?: string | undefined;
  limit: number;
}

export async function listJobs(db: Db, f: JobFilter): Promise<JobsTable[]> {
  let q = db.selectFrom('jobs').selectAll().orderBy('id').limit(f.limit);
  if (f.status) q = q.where('status', '=', f.status);
  if (f.target) q = q.where('target', '=', f.target);
  if (f.customer_id) q = q.where('customer_id', '=', f.customer_id);
  if (f.after) q = q.where('id', '>', f.after);
  return q.execute();
}

export async function getJob(db: Db, id: string): Promise<JobsTable | undefined> {
  return db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function jobCounts(db: Db): Promise<{ target: string; status: string; n: number }[]> {
  const rows = await db
    .selectFrom('jobs')
    .select(['target', 'status', sql<number>`count(*)`.as('n')])
    .groupBy(['target', 'status'])
    .execute();
  return rows.map((r) => ({ ...r, n: Number(r.n) }));
}

/** The nearest time any pending job of a target becomes due (so idle workers can sleep until then). */
export async function nextDueAt(db: Db, target: string): Promise<number | null> {
  const row = await db
    .selectFrom('jobs')
    .select(sql<number>`min(run_at)`.as('t'))
    .where('target', '=', target)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return row?.t === null || row?.t === undefined ? null : Number(row.t);
}

/** Write-backs that missed the sync window: delivered late, or still undelivered past it. */
export async function lateWritebacks(
  db: Db,
  windowMs: number,
  now: number,
  limit: number,
  after?: string,
): Promise<JobsTable[]> {
  // Id order (ULIDs follow creation) so a page can start `after` the last id of the previous one.
  let q = db
    .selectFrom('jobs')
    .selectAll()
    .where('kind', '=', 'crm.address_write')
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'done'), eb(sql`done_at - origin_at`, '>', windowMs)]),
        eb.and([eb('status', 'in', ['pending', 'running', 'dead']), eb('origin_at', '<', now - windowMs)]),
      ]),
    )
    .orderBy('id')
    .limit(limit);
  if (after) q = q.where('id', '>', after);
  return q.execute();
}
