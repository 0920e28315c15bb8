import { sql, type Kysely } from 'kysely';
import type { InboundEvent } from '../canonical/types.ts';
import type { Database, InboxEventsTable, InboxStatus } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { newId } from '../ids.ts';

type Db = Kysely<Database>;

export interface StoreOutcome {
  accepted: string[];
  duplicates: number;
}

/**
 * Makes a webhook delivery durable before it is acknowledged: one transaction for all its events.
 * The vendor's delivery id is unique per connector, so a redelivery is recognised and skipped.
 */
export async function storeDeliveries(
  db: Db,
  connector: string,
  events: InboundEvent[],
  now: number,
): Promise<StoreOutcome> {
  return db.transaction().execute((trx) => insertEvents(trx, connector, events, now));
}

/** Inserts inbound events in the caller's transaction (a fetch job's result joins its settlement). */
export async function insertEvents(
  trx: Db,
  connector: string,
  events: InboundEvent[],
  now: number,
): Promise<StoreOutcome> {
  const accepted: string[] = [];
  for (const e of events) {
    const id = newId('evt', now);
    const res = await trx
      .insertInto('inbox_events')
      .values({
        id,
        connector,
        delivery_id: e.delivery_id,
        event_type: e.event.type,
        payload: serialize(e.event),
        status: 'pending',
        attempts: 0,
        error: null,
        received_at: now,
        applied_at: null,
      })
      .onConflict((oc) => oc.columns(['connector', 'delivery_id']).doNothing())
      .executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0n) === 1) accepted.push(id);
  }
  return { accepted, duplicates: events.length - accepted.length };
}

/** An event too deep to serialise (a stack overflow in JSON.stringify) is the sender's fault: a 400, not a crash. */
function serialize(event: InboundEvent['event']): string {
  try {
    return JSON.stringify(event);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new HearthError('bad_request', 'event nests too deep to store', { field: 'body' });
  }
}

export async function pendingEventIds(db: Db, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('inbox_events')
    .select('id')
    .where('status', '=', 'pending')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

export async function settleEvent(
  db: Db,
  id: string,
  status: InboxStatus,
  now: number,
  error: string | null = null,
): Promise<void> {
  await db
    .updateTable('inbox_events')
    .set({ status, applied_at: now, error, attempts: sql<number>`attempts + 1` })
    .where('id', '=', id)
    .execute();
}

export async function getEvent(db: Db, id: string): Promise<InboxEventsTable | undefined> {
  return db.selectFrom('inbox_events').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function inboxCounts(db: Db): Promise<{ status: string; n: number }[]> {
  const rows = await db
    .selectFrom('inbox_events')
    .select(['status', sql<number>`count(*)`.as('n')])
    .groupBy('status')
    .execute();
  return rows.map((r) => ({ status: r.status, n: Number(r.n) }));
}
