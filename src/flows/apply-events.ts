import type { Kysely } from 'kysely';
import { mergeLinkSnapshot } from '../customers/customer-store.ts';
import type { Database, JobsTable } from '../db/schema.ts';
import type { CanonicalEvent, DeliveryResult } from '../canonical/types.ts';
import type { ApplyOutcome, EventApplier } from '../engine/apply-loop.ts';
import { flushBatch, loadBatch, settle, type BatchState } from './batch-state.ts';
import { loadIdentityCandidates } from './identity-at-ingest.ts';
import { applyCheckoutAddress, applyContactUpdate } from './contact-update.ts';
import type { EngineContext } from './context.ts';
import { applyHouseholdChanged, applyOptInFromUpdate } from './household-change.ts';
import { applyOrderPlaced, applyOrderReversed } from './order.ts';

/** What each canonical event means, as the engine's apply loop runs it: one flow per event type. */
export function createEventApplier(ctx: EngineContext): EventApplier<BatchState> {
  return {
    load: (trx, events, now) => loadBatch(trx, events, ctx.writeback_crm, now, loadIdentityCandidates),
    apply: (state, ev, eventId, now) => dispatch(state, ctx, ev, eventId, now),
    settle,
    flush: (trx, state, now) => flushBatch(trx, state, ctx.max_attempts, now),
  };
}

function dispatch(
  state: BatchState,
  ctx: EngineContext,
  ev: CanonicalEvent,
  eventId: string,
  now: number,
): ApplyOutcome {
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

/** A delivered job taught Hearth the record it landed on: the crosswalk keeps it with what it holds. */
export async function learnLinkOnDelivery(
  trx: Kysely<Database>,
  system: string,
  job: JobsTable,
  result: Extract<DeliveryResult, { ok: true }>,
  now: number,
): Promise<void> {
  if (!result.external_id || !job.customer_id) return;
  await mergeLinkSnapshot(
    trx,
    system,
    result.external_id,
    job.customer_id,
    result.written ?? result.unchanged ?? {},
    now,
  );
}
