import type { Kysely } from 'kysely';
import type { CanonicalEvent } from '../canonical/types.ts';
import { lockAcrossProcesses, type HearthDb } from '../db/database.ts';
import type { Database, InboxEventsTable } from '../db/schema.ts';
import { pendingEventIds, settleEvent } from './inbox.ts';

export type ApplyStatus = 'applied' | 'ignored' | 'echo';

export interface ApplyOutcome {
  status: ApplyStatus;
  customer_id?: string;
  jobs: number;
  rejected: { field: string; reason: string }[];
}

/**
 * What the apply loop runs, injected by the process (flows/apply-events.ts): the engine knows
 * the inbox, batches and transactions, not what an event means.
 */
export interface EventApplier<S> {
  /** Reads everything the batch can touch, in the batch's transaction. */
  load(trx: Kysely<Database>, events: CanonicalEvent[], now: number): Promise<S>;
  /** Applies one event to the in-memory state (later events see earlier ones' changes). */
  apply(state: S, ev: CanonicalEvent, eventId: string, now: number): ApplyOutcome;
  /** Records the event's status, written with the batch. */
  settle(state: S, eventId: string, status: ApplyStatus): void;
  /** Writes the state changes, change log, outbound jobs and statuses, before the commit. */
  flush(trx: Kysely<Database>, state: S, now: number): Promise<void>;
}

/** An event that fails this many times is parked as `failed` for an operator. */
const MAX_EVENT_ATTEMPTS = 5;

export interface ApplyReport {
  applied: number;
  echo: number;
  ignored: number;
  failed: number;
  outcomes: { event_id: string; outcome: ApplyOutcome }[];
  /** Pending events this round read (at most the limit): fewer than the limit means the inbox was drained. */
  claimed: number;
}

/**
 * Applies pending inbox events in batches. One transaction per batch: load what the events
 * touch, apply them in order in memory, write the state changes, change log, outbound jobs
 * and event statuses back together. A crash leaves each event applied once or not at all.
 * If a batch throws, it is split in halves and each half is tried on its own, down to the one
 * bad event: one poisoned event among n costs about 2·log2(n) transactions, not n, and it
 * cannot block or half-apply the others.
 */
export async function applyPendingEvents<S>(
  hdb: HearthDb,
  applier: EventApplier<S>,
  limit: number,
  now: () => number,
): Promise<ApplyReport> {
  const report: ApplyReport = { applied: 0, echo: 0, ignored: 0, failed: 0, outcomes: [], claimed: 0 };
  // The common round reads its pending events inside its transaction (no separate read of ids first).
  const read = { ids: [] as string[] };
  try {
    const { outcomes } = await hdb.db
      .transaction()
      .execute((trx) => applyBatch(trx, hdb, applier, { limit }, now(), read));
    report.claimed = read.ids.length;
    for (const o of outcomes) count(report, o);
    return report;
  } catch (err) {
    report.claimed = read.ids.length;
    if (read.ids.length > 0) await isolate(hdb, applier, read.ids, err, now, report);
    else {
      // It failed before reading its events (the lock, the read): the ids, then the usual way.
      const ids = await pendingEventIds(hdb.db, limit);
      report.claimed = ids.length;
      if (ids.length > 0) await applyBisecting(hdb, applier, ids, now, report);
    }
    return report;
  }
}

async function applyBisecting<S>(
  hdb: HearthDb,
  applier: EventApplier<S>,
  ids: string[],
  now: () => number,
  report: ApplyReport,
): Promise<void> {
  try {
    const { outcomes } = await hdb.db.transaction().execute((trx) => applyBatch(trx, hdb, applier, { ids }, now()));
    for (const o of outcomes) count(report, o);
  } catch (err) {
    await isolate(hdb, applier, ids, err, now, report);
  }
}

/** A failed batch: one event is recorded as failed, more are split in halves and tried again. */
async function isolate<S>(
  hdb: HearthDb,
  applier: EventApplier<S>,
  ids: string[],
  err: unknown,
  now: () => number,
  report: ApplyReport,
): Promise<void> {
  if (ids.length === 1) return recordFailure(hdb, ids[0]!, err, now, report);
  await bisect(hdb, applier, ids, now, report);
}

async function bisect<S>(
  hdb: HearthDb,
  applier: EventApplier<S>,
  ids: string[],
  now: () => number,
  report: ApplyReport,
): Promise<void> {
  // Halves keep the events' order: the earlier half commits before the later half is tried.
  const mid = Math.ceil(ids.length / 2);
  await applyBisecting(hdb, applier, ids.slice(0, mid), now, report);
  await applyBisecting(hdb, applier, ids.slice(mid), now, report);
}

async function recordFailure(
  hdb: HearthDb,
  id: string,
  err: unknown,
  now: () => number,
  report: ApplyReport,
): Promise<void> {
  const row = await hdb.db.selectFrom('inbox_events').select('attempts').where('id', '=', id).executeTakeFirst();
  const attempts = (row?.attempts ?? 0) + 1;
  const message = (err as Error).message ?? String(err);
  if (attempts >= MAX_EVENT_ATTEMPTS) {
    await settleEvent(hdb.db, id, 'failed', now(), message);
    report.failed++;
  } else {
    await hdb.db.updateTable('inbox_events').set({ attempts, error: message }).where('id', '=', id).execute();
  }
}

async function applyBatch<S>(
  trx: Kysely<Database>,
  hdb: HearthDb,
  applier: EventApplier<S>,
  pick: { ids: string[] } | { limit: number },
  now: number,
  /** Told the ids read, so a failed batch can be split without reading them again. */
  read?: { ids: string[] },
): Promise<{ outcomes: { event_id: string; outcome: ApplyOutcome }[] }> {
  // Batches apply one at a time across processes: a batch reads the customers it touches before
  // writing them, so two batches touching one customer at once would lose an update or apply its
  // events out of order. Ingress and delivery, where most of the CPU goes, still run in parallel.
  await lockAcrossProcesses(trx, hdb.caps, 'hearth:apply');
  let q = trx.selectFrom('inbox_events').selectAll().where('status', '=', 'pending').orderBy('id');
  q = 'ids' in pick ? q.where('id', 'in', pick.ids) : q.limit(pick.limit);
  // Another process may be applying some of them: skip those rather than wait (never apply twice).
  if (hdb.caps.skipLocked) q = q.forUpdate().skipLocked();
  const rows = await q.execute();
  if (read) read.ids = rows.map((r) => r.id);
  if (rows.length === 0) return { outcomes: [] };
  const events = rows.map((row) => withCappedTime(row));
  const state = await applier.load(trx, events, now);
  const outcomes = rows.map((row, i) => {
    const outcome = applier.apply(state, events[i]!, row.id, now);
    applier.settle(state, row.id, outcome.status);
    return { event_id: row.id, outcome };
  });
  await applier.flush(trx, state, now);
  return { outcomes };
}

// A source clock ahead of ours must not shorten the measured sync window.
function withCappedTime(row: InboxEventsTable): CanonicalEvent {
  const ev = JSON.parse(row.payload) as CanonicalEvent;
  return 'occurred_at' in ev ? { ...ev, occurred_at: Math.min(ev.occurred_at, row.received_at) } : ev;
}

function count(report: ApplyReport, o: { event_id: string; outcome: ApplyOutcome }): void {
  report[o.outcome.status]++;
  report.outcomes.push(o);
}
