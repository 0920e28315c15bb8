import type { Kysely } from 'kysely';
import type { Database, ErasureHoldsTable, ErasuresTable, JobStatus } from '../db/schema.ts';
import { HearthError } from '../errors.ts';

type Db = Kysely<Database>;

/** One system's part of an erasure: its job's state, in words a steward reads. */
export type SystemErasureStatus = 'pending' | 'done' | 'failed' | 'shadowed' | 'skipped';

export interface SystemErasure {
  system: string;
  status: SystemErasureStatus;
  job_id: string | null;
  attempts: number;
  /** The system's last refusal (kept while it retries, and once it gave up). */
  error: string | null;
  note: string | null;
  updated_at: number | null;
}

export interface ErasureReport {
  id: string;
  customer_id: string;
  actor: string;
  created_at: number;
  /** open until every system with a job confirmed (done); a failed system keeps it open. */
  status: 'open' | 'done';
  removed: Record<string, number>;
  systems: SystemErasure[];
  holds: ErasureHoldsTable[];
}

/** Maps the job's status: a dead job is a system that refused (retry re-drives it). */
export function systemStatus(job: { status: JobStatus } | undefined): SystemErasureStatus {
  if (!job) return 'skipped';
  if (job.status === 'done') return 'done';
  if (job.status === 'dead' || job.status === 'superseded') return 'failed';
  if (job.status === 'shadow') return 'shadowed';
  return 'pending';
}

export async function erasureReport(db: Db, id: string): Promise<ErasureReport> {
  const row = await db.selectFrom('erasures').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new HearthError('not_found', `erasure ${id} not found`);
  return (await reportsOf(db, [row]))[0]!;
}

export async function listErasures(db: Db, limit: number, after?: string): Promise<ErasureReport[]> {
  let q = db.selectFrom('erasures').selectAll().orderBy('id', 'desc').limit(limit);
  if (after) q = q.where('id', '<', after);
  return reportsOf(db, await q.execute());
}

async function reportsOf(db: Db, rows: ErasuresTable[]): Promise<ErasureReport[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const systems = await db
    .selectFrom('erasure_systems as s')
    .leftJoin('jobs as j', 'j.id', 's.job_id')
    .select([
      's.erasure_id',
      's.system',
      's.job_id',
      's.note',
      'j.status',
      'j.attempts',
      'j.last_error',
      'j.updated_at',
    ])
    .where('s.erasure_id', 'in', ids)
    .orderBy('s.system')
    .execute();
  const holds = await db.selectFrom('erasure_holds').selectAll().where('erasure_id', 'in', ids).orderBy('id').execute();
  return rows.map((r) => {
    const mine = systems
      .filter((s) => s.erasure_id === r.id)
      .map((s) => {
        const status = systemStatus(s.status ? { status: s.status } : undefined);
        return {
          system: s.system,
          status,
          job_id: s.job_id,
          attempts: Number(s.attempts ?? 0),
          error: status === 'done' ? null : (s.last_error ?? null),
          note: s.note,
          updated_at: s.updated_at === null ? null : Number(s.updated_at),
        };
      });
    const open = mine.some((s) => s.status !== 'done' && s.status !== 'skipped');
    return {
      id: r.id,
      customer_id: r.customer_id,
      actor: r.actor,
      created_at: Number(r.created_at),
      status: open ? 'open' : 'done',
      removed: JSON.parse(r.removed) as Record<string, number>,
      systems: mine,
      holds: holds.filter((h) => h.erasure_id === r.id),
    };
  });
}

/**
 * Re-drives the erasure jobs systems refused (dead) or that were dropped: a fresh attempt budget,
 * due now. Returns how many were re-driven.
 */
export async function retryErasure(db: Db, id: string, now: number): Promise<number> {
  const report = await erasureReport(db, id);
  const failed = report.systems.filter((s) => s.status === 'failed' && s.job_id).map((s) => s.job_id!);
  if (failed.length === 0) return 0;
  const r = await db
    .updateTable('jobs')
    .set({ status: 'pending', attempts: 0, run_at: now, updated_at: now, locked_by: null, locked_until: null })
    .where('id', 'in', failed)
    .where('status', 'in', ['dead', 'superseded'])
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * A steward decides a held webhook: `release` applies it (the person comes back as new, e.g. they
 * signed up again) and lifts the erasure's tombstone; `dismiss` keeps it out and blanks its payload.
 */
export async function decideHold(
  db: Db,
  holdId: string,
  decision: 'release' | 'dismiss',
  actor: string,
  now: number,
): Promise<ErasureHoldsTable> {
  return db.transaction().execute(async (trx) => {
    const hold = await trx.selectFrom('erasure_holds').selectAll().where('id', '=', holdId).executeTakeFirst();
    if (!hold) throw new HearthError('not_found', `hold ${holdId} not found`);
    if (hold.status !== 'held') throw new HearthError('conflict', `hold ${holdId} was already ${hold.status}`);
    const status = decision === 'release' ? 'released' : 'dismissed';
    await trx
      .updateTable('erasure_holds')
      .set({ status, decided_by: actor, decided_at: now })
      .where('id', '=', holdId)
      .execute();
    if (decision === 'release') {
      await trx
        .updateTable('inbox_events')
        .set({ status: 'pending', error: null, applied_at: null })
        .where('id', '=', hold.event_id)
        .execute();
      // The person is welcome back: the tombstone is lifted, so their later events apply as usual
      // (webhooks already held stay held until decided). The erasure record and its report stay.
      await trx.deleteFrom('erasure_tombstones').where('erasure_id', '=', hold.erasure_id).execute();
    } else {
      await trx
        .updateTable('inbox_events')
        .set({ payload: JSON.stringify({ erased: hold.erasure_id }) })
        .where('id', '=', hold.event_id)
        .execute();
      // Nor is it indexed as being about anyone any more (erasure's index of encrypted payloads).
      await trx.deleteFrom('inbox_subjects').where('event_id', '=', hold.event_id).execute();
    }
    return { ...hold, status, decided_by: actor, decided_at: now };
  });
}
