import type { Kysely } from 'kysely';
import type { CanonicalEvent } from '../canonical/types.ts';
import type { Database } from '../db/schema.ts';
import type { EventApplier } from '../engine/apply-loop.ts';
import type { FlagReader } from '../governance/flag-store.ts';
import type { FlagSnapshot } from '../governance/flags.ts';
import { minimiseJobs } from '../governance/minimise.ts';
import type { BatchState } from './batch-state.ts';
import type { EngineContext } from './context.ts';
import { createEventApplier } from './apply-events.ts';

/** The batch state with the applier its flags chose (flags are read once, when the batch loads). */
export interface GovernedState {
  inner: BatchState;
  applier: EventApplier<BatchState>;
  flags: FlagSnapshot;
  /** What the screen read for this batch (quality rules: change counts in the window). */
  screen: unknown;
}

/** Hook for the quality rules: may hold some of an event's changes before it applies. */
export interface EventScreen {
  prepare(trx: Kysely<Database>, state: GovernedState, events: CanonicalEvent[], now: number): Promise<unknown>;
  screen(state: GovernedState, ev: CanonicalEvent, eventId: string, now: number): CanonicalEvent;
}

/**
 * The event applier under runtime flags: each batch reads the flags (a cheap version check) in
 * its own transaction and applies with the context they give — identity matching at ingest off,
 * household membership off — so a flag changed mid-batch applies from the next batch. The engine
 * is untouched: this is the `EventApplier` it is handed.
 */
export function createGovernedApplier(
  ctx: EngineContext,
  flags: FlagReader,
  screen?: EventScreen,
): EventApplier<GovernedState> {
  const cache = new Map<string, EventApplier<BatchState>>();
  const applierFor = (f: FlagSnapshot) => {
    const key = `${f.on('identity.auto_link')}:${f.on('households.pooling')}`;
    let a = cache.get(key);
    if (!a) {
      a = createEventApplier({
        ...ctx,
        identity: f.on('identity.auto_link') ? ctx.identity : null,
        households: f.on('households.pooling') ? ctx.households : null,
      });
      cache.set(key, a);
    }
    return a;
  };
  return {
    load: async (trx, events, now) => {
      const f = await flags.current(trx);
      const applier = applierFor(f);
      const state: GovernedState = { inner: await applier.load(trx, events, now), applier, flags: f, screen: null };
      if (screen) state.screen = await screen.prepare(trx, state, events, now);
      return state;
    },
    apply: (state, ev, eventId, now) =>
      state.applier.apply(state.inner, screen ? screen.screen(state, ev, eventId, now) : ev, eventId, now),
    settle: (state, eventId, status) => state.applier.settle(state.inner, eventId, status),
    flush: (trx, state, now) => {
      // Data minimisation in the job builder's output: what may not leave Hearth never reaches the outbox.
      if (ctx.minimisation) state.inner.jobs = minimiseJobs(state.inner.jobs, ctx.minimisation);
      return state.applier.flush(trx, state.inner, now);
    },
  };
}
