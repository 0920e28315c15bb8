import {
  attachAccount,
  billingOf,
  recordBillingAddress,
  recordStatus,
  recordSubscription,
} from '../billing/billing-store.ts';
import type { BillingRef } from '../billing/billing-store.ts';
import { recordOwnershipFinding } from '../billing/ownership-findings.ts';
import type { BillingField } from '../canonical/fields.ts';
import { decideOwnership } from '../customers/ownership.ts';
import { normalizeEmail } from '../canonical/customer.ts';
import type { CanonicalEvent } from '../canonical/types.ts';
import { linkKey, setLink, type BatchState } from './batch-state.ts';
import type { ApplyOutcome, EngineContext } from './context.ts';
import { queueProjection } from './profile-projection.ts';

type BillingEvent = Extract<
  CanonicalEvent,
  { type: 'billing.status_changed' | 'billing.address_changed' | 'subscription.changed' }
>;

/**
 * A billing system's standing, billing address or subscription changed. The billing record is
 * linked through the crosswalk, else by e-mail; a record that matches no customer creates none:
 * it is kept unlinked (for review) and attached when the customer appears. An older delivery
 * never overwrites a newer state (the store compares vendor times). The customer view is then
 * projected to the systems that read it (support sees the card failure).
 */
export function applyBillingEvent(
  state: BatchState,
  ctx: EngineContext,
  ev: BillingEvent,
  eventId: string,
  now: number,
): ApplyOutcome {
  const customerId = linkedCustomer(state, ev.source, ev.external_id, ev.contact.email);
  const field = billingField(ev);
  const decision = decideOwnership(ctx.policy, field, ev.source, null, true);
  if (!decision.allowed) return refuse(state, ev, field, decision.reason, customerId, eventId, now);
  if (customerId) setLink(state, ev.source, ev.external_id, customerId, undefined, now);
  const ref: BillingRef = {
    system: ev.source,
    external_id: ev.external_id,
    customer_id: customerId,
    email: normalizeEmail(ev.contact.email),
  };
  let changed = false;
  state.deferred.push(async (trx) => {
    if (ev.type === 'billing.status_changed')
      changed = await recordStatus(trx, ref, ev.status, ev.reason, ev.occurred_at, now);
    else if (ev.type === 'billing.address_changed')
      changed = await recordBillingAddress(trx, ref, ev.billing_address, ev.occurred_at, now);
    else changed = await recordSubscription(trx, ref, ev.subscription, ev.occurred_at, now);
  });
  if (customerId) {
    const origin = { source: ev.source, event_id: eventId, occurred_at: ev.occurred_at };
    // Projected only when it changed something: the projection runs after the record task above.
    queueProjection(state, ctx, customerId, origin, () => changed);
  }
  return customerId
    ? { status: 'applied', customer_id: customerId, jobs: 0, rejected: [] }
    : { status: 'applied', jobs: 0, rejected: [] };
}

function billingField(ev: BillingEvent): BillingField {
  if (ev.type === 'billing.status_changed') return 'billing_status';
  return ev.type === 'billing.address_changed' ? 'billing_address' : 'subscriptions';
}

/**
 * A system that does not own the billing field (a support agent editing the billing status) is
 * neither applied nor dropped: when its value differs from Hearth's, it becomes an open drift
 * finding naming both values. Nothing is stored for a record no customer is linked to.
 */
function refuse(
  state: BatchState,
  ev: BillingEvent,
  field: BillingField,
  reason: string,
  customerId: string | null,
  eventId: string,
  now: number,
): ApplyOutcome {
  const rejected = [{ field, reason }];
  if (!customerId) return { status: 'ignored', jobs: 0, rejected };
  state.deferred.push(async (trx) => {
    const b = await billingOf(trx, customerId);
    const [canonical, theirs] =
      ev.type === 'billing.status_changed'
        ? [b.status, ev.status]
        : ev.type === 'billing.address_changed'
          ? [json(b.billing_address), json(ev.billing_address)]
          : [json(subscriptionOf(b.subscriptions, ev.subscription.id)), json(ev.subscription)];
    const finding = {
      system: ev.source,
      external_id: ev.external_id,
      customer_id: customerId,
      field,
      canonical_value: canonical,
      system_value: theirs,
      reason,
      event_id: eventId,
    };
    await recordOwnershipFinding(trx, finding, now);
  });
  return { status: 'applied', customer_id: customerId, jobs: 0, rejected };
}

function subscriptionOf(subs: { id: string; name: string | null; status: string }[], id: string) {
  const s = subs.find((x) => x.id === id);
  return s ? { id: s.id, name: s.name, status: s.status } : null;
}

const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

/** After a contact change from a system linked a record: attach billing state kept unlinked. */
export function attachBillingOnLink(state: BatchState, system: string, externalId: string, customerId: string) {
  state.deferred.push((trx) => attachAccount(trx, system, externalId, customerId));
}

function linkedCustomer(state: BatchState, system: string, externalId: string, email?: string | null): string | null {
  const link = state.links.get(linkKey(system, externalId));
  if (link) return survivorId(state, link.customer_id);
  const normalized = normalizeEmail(email);
  return (normalized && state.byEmail.get(normalized)) || null;
}

function survivorId(state: BatchState, id: string): string {
  let row = state.customers.get(id);
  for (let i = 0; row?.merged_into && i < 5; i++) row = state.customers.get(row.merged_into);
  return row?.id ?? id;
}
