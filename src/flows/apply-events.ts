import type { CanonicalEvent } from '../canonical/types.ts';
import type { ApplyOutcome, EventApplier } from '../engine/apply-loop.ts';
import { flushBatch, loadBatch, settle, type BatchState } from './batch-state.ts';
import { loadIdentityCandidates, loadIdentityKeysOnly } from './identity-at-ingest.ts';
import { applyCheckoutAddress, applyContactUpdate } from './contact-update.ts';
import type { EngineContext } from './context.ts';
import { applyHouseholdChanged, applyOptInFromUpdate } from './household-change.ts';
import { applyOrderPlaced, applyOrderReversed } from './order.ts';
import { applyBillingEvent, attachBillingOnLink } from './billing.ts';
import { queueCrmFields, queueProjection } from './profile-projection.ts';
import { freshChange, rememberVersion } from './stale-change.ts';

/** What each canonical event means, as the engine's apply loop runs it: one flow per event type. */
export function createEventApplier(ctx: EngineContext): EventApplier<BatchState> {
  return {
    // With matching at ingest off, no candidates are read (the blocking keys still follow the writes).
    load: (trx, events, now) =>
      loadBatch(trx, events, ctx.writeback_crm, now, ctx.identity ? loadIdentityCandidates : loadIdentityKeysOnly),
    apply: (state, ev, eventId, now) => {
      // The change-log rows this event adds are the ones after `logged`: later reads look only there.
      const logged = state.changeLog.length;
      return project(state, ctx, ev, eventId, dispatch(state, ctx, ev, eventId, now), logged);
    },
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
    case 'contact.updated': {
      const fresh = freshChange(state, ev);
      if (!fresh) return { status: 'ignored', jobs: 0, rejected: [] };
      const out = applyOptInFromUpdate(
        state,
        ctx,
        fresh,
        applyContactUpdate(state, ctx, fresh, eventId, now),
        eventId,
        now,
      );
      rememberVersion(state, fresh);
      return out;
    }
    case 'household.changed':
      return applyHouseholdChanged(state, ctx, ev, eventId, now);
    case 'order.placed':
      return applyOrderPlaced(state, ctx, ev, eventId, now);
    case 'order.reversed':
      return applyOrderReversed(state, ctx, ev, eventId, now);
    case 'billing.status_changed':
    case 'billing.address_changed':
    case 'subscription.changed':
      return applyBillingEvent(state, ctx, ev, eventId, now);
    case 'unsupported':
      return { status: 'ignored', jobs: 0, rejected: [] };
    default: {
      const never: never = ev;
      throw new Error(`unknown event type ${(never as { type: string }).type}`);
    }
  }
}

/**
 * After a contact, household or points change, the customer view goes to the systems that read
 * it (billing flows project their own). A contact change projects only when it changed a field.
 */
function project(
  state: BatchState,
  ctx: EngineContext,
  ev: CanonicalEvent,
  eventId: string,
  out: ApplyOutcome,
  logFrom: number,
) {
  if (out.status !== 'applied' || !out.customer_id || ev.type === 'unsupported') return out;
  if (ev.type === 'contact.updated' && ctx.projection_targets?.includes(ev.source))
    attachBillingOnLink(state, ev.source, ev.external_id, out.customer_id);
  if (ev.type.startsWith('billing.') || ev.type === 'subscription.changed') return out;
  const customer = out.customer_id;
  const changed = new Set(
    state.changeLog
      .slice(logFrom)
      .filter((c) => c.customer_id === customer && c.event_id === eventId)
      .map((c) => c.field),
  );
  const contact = ev.type === 'contact.updated' || ev.type === 'checkout.address_confirmed';
  if (contact && changed.size === 0) return out;
  const origin = { source: ev.source, event_id: eventId, occurred_at: ev.occurred_at };
  if (ev.type === 'contact.updated') queueCrmFields(state, ctx, out.customer_id, origin, changed);
  queueProjection(state, ctx, out.customer_id, origin);
  return out;
}
