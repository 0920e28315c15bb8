import { sql, type Kysely } from 'kysely';
import type { InboundEvent } from '../canonical/types.ts';
import type { Database, InboxEventsTable, InboxStatus } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { newId } from '../ids.ts';

type Db = Kysely<Database>;

/** Events per insert statement. */
const INSERT_CHUNK = 200;

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
  // Up to one insert's worth of events, the statement is its own transaction: an explicit one
  // only added a BEGIN and a COMMIT (and a connection hand-over) to every webhook.
  if (events.length <= INSERT_CHUNK) return insertEvents(db, connector, events, now);
  return db.transaction().execute((trx) => insertEvents(trx, connector, events, now));
}

/**
 * Inserts inbound events in the caller's transaction (a fetch job's result joins its settlement):
 * one statement per 200 events, not one per event; the ids it returns are the ones accepted.
 */
export async function insertEvents(
  trx: Db,
  connector: string,
  events: InboundEvent[],
  now: number,
): Promise<StoreOutcome> {
  const rows = events.map((e) => ({
    id: newId('evt', now),
    connector,
    delivery_id: e.delivery_id,
    event_type: e.event.type,
    payload: serialize(e.event),
    status: 'pending' as const,
    attempts: 0,
    error: null,
    received_at: now,
    applied_at: null,
  }));
  const inserted = new Set<string>();
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    // A redelivery (or the same delivery id twice in one body) inserts nothing and returns no id.
    const res = await trx
      .insertInto('inbox_events')
      .values(rows.slice(i, i + INSERT_CHUNK))
      .onConflict((oc) => oc.columns(['connector', 'delivery_id']).doNothing())
      .returning('id')
      .execute();
    for (const r of res) inserted.add(r.id);
  }
  const accepted = rows.filter((r) => inserted.has(r.id)).map((r) => r.id);
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
