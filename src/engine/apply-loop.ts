import type { Kysely } from 'kysely';
import type { CanonicalEvent } from '../canonical/types.ts';
import type { HearthDb } from '../db/database.ts';
import type { Database, InboxEventsTable } from '../db/schema.ts';
import { applyCheckoutAddress, applyContactUpdate } from '../flows/contact-update.ts';
import { applyHouseholdChanged, applyOptInFromUpdate } from '../flows/household-change.ts';
import { flushBatch, loadBatch, settle, type BatchState } from '../flows/batch-state.ts';
import type { ApplyOutcome, EngineContext } from '../flows/context.ts';
import { pendingEventIds, settleEvent } from './inbox.ts';
import { applyOrderPlaced, applyOrderReversed } from '../flows/order.ts';

/** An event that fails this many times is parked as `failed` for an operator. */
const MAX_EVENT_ATTEMPTS = 5;

export interface ApplyReport {
  applied: number;
  echo: number;
  ignored: number;
  failed: number;
  outcomes: { event_id: string; outcome: ApplyOutcome }[];
}

/**
 * Applies pending inbox events in batches. One transaction per batch: load what the events
 * touch, apply them in order in memory, write the state changes, change log, outbound jobs
 * and event statuses back together. A crash leaves each event applied once or not at all.
 * If a batch throws, each of its events is retried alone, so one bad event cannot block or
 * half-apply the others.
 */
export async function applyPendingEvents(hdb: HearthDb, ctx: EngineContext, limit: number, now: () => number): Promise<ApplyReport> {
  const report: ApplyReport = { applied: 0, echo: 0, ignored: 0, failed: 0, outcomes: [] };
  const ids = await pendingEventIds(hdb.db, limit);
  if (ids.length === 0) return report;
  try {
    const outcomes = await hdb.db.transaction().execute((trx) => applyBatch(trx, hdb, ctx, ids, now()));
    for (const o of outcomes) count(report, o);
  } catch {
    for (const id of ids) await applyAlone(hdb, ctx, id, now, report);
  }
  return report;
}

async function applyAlone(hdb: HearthDb, ctx: EngineContext, id: string, now: () => number, report: ApplyReport): Promise<void> {
  try {
    const outcomes = await hdb.db.transaction().execute((trx) => applyBatch(trx, hdb, ctx, [id], now()));
    for (const o of outcomes) count(report, o);
  } catch (err) {
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
}

async function applyBatch(trx: Kysely<Database>, hdb: HearthDb, ctx: EngineContext, ids: string[], now: number): Promise<{ event_id: string; outcome: ApplyOutcome }[]> {
  let q = trx.selectFrom('inbox_events').selectAll().where('id', 'in', ids).where('status', '=', 'pending').orderBy('id');
  // Another process may be applying some of them: skip those rather than wait (never apply twice).
  if (hdb.caps.skipLocked) q = q.forUpdate().skipLocked();
  const rows = await q.execute();
  const events = rows.map((row) => withCappedTime(row));
  const state = await loadBatch(trx, events, ctx.writeback_crm, now);
  const outcomes = rows.map((row, i) => {
    const outcome = dispatch(state, ctx, events[i]!, row.id, now);
    settle(state, row.id, outcome.status);
    return { event_id: row.id, outcome };
  });
  await flushBatch(trx, state, ctx.max_attempts, now);
  return outcomes;
}

// A source clock ahead of ours must not shorten the measured sync window.
function withCappedTime(row: InboxEventsTable): CanonicalEvent {
  const ev = JSON.parse(row.payload) as CanonicalEvent;
  return 'occurred_at' in ev ? { ...ev, occurred_at: Math.min(ev.occurred_at, row.received_at) } : ev;
}

function dispatch(state: BatchState, ctx: EngineContext, ev: CanonicalEvent, eventId: string, now: number): ApplyOutcome {
  switch (ev.type) {
    case 'checkout.address_confirmed':
      return applyCheckoutAddress(state, ctx, ev, eventId, now);
    case 'contact.updated':
      return applyOptInFromUpdate(state, ctx, ev, applyContactUpdate(state, ctx, ev, eventId, now), eventId, now);
    case 'household.changed':
      return applyHouseholdChanged(state, ctx, ev, eventId, now);
    case 'order.placed':
      return applyOrderPlaced(state, ctx, ev, eventId, now);
    case 'order.reversed':
      return applyOrderReversed(state, ctx, ev, eventId, now);
    case 'unsupported':
      return { status: 'ignored', jobs: 0, rejected: [] };
    default: {
      const never: never = ev;
      throw new Error(`unknown event type ${(never as { type: string }).type}`);
    }
  }
}

function count(report: ApplyReport, o: { event_id: string; outcome: ApplyOutcome }): void {
  report[o.outcome.status]++;
  report.outcomes.push(o);
}
