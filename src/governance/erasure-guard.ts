import type { Kysely } from 'kysely';
import type { CanonicalEvent } from '../canonical/types.ts';
import type { Database } from '../db/schema.ts';
import { newId } from '../ids.ts';
import { eventIdentifiers, eventSubjects, type TombstoneHasher } from './erasure-hash.ts';

type Db = Kysely<Database>;

/** The engine's applier contract (engine/apply-loop.ts EventApplier), restated: a domain does not import the engine. */
interface Outcome {
  status: 'applied' | 'ignored' | 'echo';
  customer_id?: string;
  jobs: number;
  rejected: { field: string; reason: string }[];
}
export interface Applier<S> {
  load(trx: Db, events: CanonicalEvent[], now: number): Promise<S>;
  apply(state: S, ev: CanonicalEvent, eventId: string, now: number): Outcome;
  settle(state: S, eventId: string, status: Outcome['status']): void;
  flush(trx: Db, state: S, now: number): Promise<void>;
}

export interface GuardState<S> {
  inner: S;
  /** Events of the batch that name an erased person: the erasure and which identifier matched. */
  matches: Map<CanonicalEvent, { erasure_id: string; matched: string }>;
  /** Pending events a steward released: applied as new. */
  released: Set<string>;
  held: { event_id: string; erasure_id: string; matched: string; connector: string }[];
  /** With `indexSubjects`: the hasher of this batch and the `inbox_subjects` rows its events add. */
  hash: TombstoneHasher | null;
  subjects: { subject: string; event_id: string }[];
}

/**
 * Recognises an erased person coming back: an event naming a tombstoned e-mail, phone or source
 * record is not applied (that would silently recreate them) but held for review in
 * `erasure_holds` and settled `ignored` with the erasure named; a steward releases it (applied
 * as new) or dismisses it (payload blanked). `hasher` returns null while nothing was ever erased
 * (no key yet): then the guard costs nothing.
 *
 * With `indexSubjects` (set while inbox payloads are encrypted, so an erasure cannot find them by
 * a text search), every event of the batch is recorded in `inbox_subjects`: the keyed hashes of
 * its e-mail and source record, and the customer it was applied to (governance/erasure.ts reads it).
 */
export function withErasureGuard<S>(
  inner: Applier<S>,
  hasher: (trx: Db) => Promise<TombstoneHasher | null>,
  indexSubjects = false,
): Applier<GuardState<S>> {
  return {
    load: async (trx, events, now) => {
      const hash = await hasher(trx);
      const matches = await tombstoneMatches(trx, events, hash);
      const released = matches.size > 0 ? await releasedEvents(trx) : new Set<string>();
      // The inner load only reads: loading for a held event too is harmless, and keeps a released one applicable.
      const inn = await inner.load(trx, events, now);
      return { inner: inn, matches, released, held: [], hash: indexSubjects ? hash : null, subjects: [] };
    },
    apply: (state, ev, eventId, now) => {
      const m = state.matches.get(ev);
      let outcome: Outcome = { status: 'ignored', jobs: 0, rejected: [] };
      if (!m || state.released.has(eventId)) outcome = inner.apply(state.inner, ev, eventId, now);
      else state.held.push({ event_id: eventId, ...m, connector: ev.source });
      if (state.hash)
        for (const subject of eventSubjects(ev, state.hash, outcome.customer_id))
          state.subjects.push({ subject, event_id: eventId });
      return outcome;
    },
    settle: (state, eventId, status) => inner.settle(state.inner, eventId, status),
    flush: async (trx, state, now) => {
      await inner.flush(trx, state.inner, now);
      for (let i = 0; i < state.subjects.length; i += 500)
        await trx
          .insertInto('inbox_subjects')
          .values(state.subjects.slice(i, i + 500))
          .onConflict((oc) => oc.columns(['subject', 'event_id']).doNothing())
          .execute();
      for (const h of state.held) {
        await trx
          .insertInto('erasure_holds')
          .values({ id: newId('ehd', now), ...h, status: 'held', decided_by: null, decided_at: null, created_at: now })
          .onConflict((oc) => oc.column('event_id').doNothing())
          .execute();
        await trx
          .updateTable('inbox_events')
          .set({ error: `held: names a person erased by ${h.erasure_id} (matched ${h.matched})` })
          .where('id', '=', h.event_id)
          .execute();
      }
    },
  };
}

async function tombstoneMatches(
  trx: Db,
  events: CanonicalEvent[],
  hash: TombstoneHasher | null,
): Promise<GuardState<unknown>['matches']> {
  const matches: GuardState<unknown>['matches'] = new Map();
  if (!hash || events.length === 0) return matches;
  const hashed = events.map((ev) => eventIdentifiers(ev).map((x) => ({ kind: x.kind, hash: hash(x.kind, x.value) })));
  const all = [...new Set(hashed.flat().map((h) => h.hash))];
  if (all.length === 0) return matches;
  const found = new Map<string, string>();
  for (let i = 0; i < all.length; i += 500)
    for (const r of await trx
      .selectFrom('erasure_tombstones')
      .select(['hash', 'erasure_id'])
      .where('hash', 'in', all.slice(i, i + 500))
      .execute())
      found.set(r.hash, r.erasure_id);
  if (found.size === 0) return matches;
  events.forEach((ev, i) => {
    // A phone alone is weak evidence: family members share one. It holds an event only when the
    // event names no e-mail of its own (a different e-mail with the same phone is someone else).
    const named = hashed[i]!.some((h) => h.kind === 'email');
    const hit = hashed[i]!.find((h) => found.has(h.hash) && (h.kind !== 'phone' || !named));
    if (hit) matches.set(ev, { erasure_id: found.get(hit.hash)!, matched: hit.kind });
  });
  return matches;
}

async function releasedEvents(trx: Db): Promise<Set<string>> {
  const rows = await trx
    .selectFrom('erasure_holds as h')
    .innerJoin('inbox_events as e', 'e.id', 'h.event_id')
    .select('h.event_id')
    .where('h.status', '=', 'released')
    .where('e.status', '=', 'pending')
    .execute();
  return new Set(rows.map((r) => r.event_id));
}
