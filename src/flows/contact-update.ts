import type { ClearableField } from '../canonical/fields.ts';
import type { CanonicalContact, CanonicalEvent } from '../canonical/types.ts';
import { addressOf } from '../canonical/customer.ts';
import { checkPlausibility, type Plausibility } from '../address/plausibility.ts';
import { queueAddressQuarantine } from '../identity/review-store.ts';
import { planChanges, type ChangePlan, type IncomingContact } from '../customers/plan.ts';
import type { CustomersTable } from '../db/schema.ts';
import { matchIncoming } from './identity-at-ingest.ts';
import { newId } from '../ids.ts';
import { isEcho, resolveCustomer, setLink, updateCustomer, type BatchState, type LinkState } from './batch-state.ts';
import type { ApplyOutcome, EngineContext } from './context.ts';
import { outboundJobs, type ChangeOrigin } from './outbound-jobs.ts';
import { recordOwnershipFinding } from '../billing/ownership-findings.ts';

type Checkout = Extract<CanonicalEvent, { type: 'checkout.address_confirmed' }>;
type ContactUpdate = Extract<CanonicalEvent, { type: 'contact.updated' }>;

/**
 * Checkout confirmed a shipping address: find the customer, adopt the address under the
 * ownership policy, and when the delivery point moved, queue the CRM write-back and the
 * downstream webhooks. Works on the batch state; the caller flushes it in its transaction.
 */
export function applyCheckoutAddress(
  state: BatchState,
  ctx: EngineContext,
  ev: Checkout,
  eventId: string,
  now: number,
): ApplyOutcome {
  matchIncoming(state, ctx.identity, ev, eventId, now);
  const customer = resolveCustomer(state, ev.source, ev.external_id, ev.contact.email, now);
  const verdict = checkPlausibility(ev.address, ctx.plausibility);
  // An implausible address is held for review with its reason; the rest of the contact still applies.
  if (!verdict.ok) quarantine(state, ev, customer.id, verdict, eventId, now);
  const incoming = toIncoming(ctx, { ...ev.contact, address: verdict.ok ? ev.address : null }, true);
  const outcome = applyIncoming(
    state,
    ctx,
    customer,
    incoming,
    { source: ev.source, event_id: eventId, occurred_at: ev.occurred_at, order_id: ev.order_id },
    now,
  );
  return verdict.ok
    ? outcome
    : { ...outcome, rejected: [...outcome.rejected, { field: 'address', reason: `quarantined: ${verdict.reason}` }] };
}

function quarantine(
  state: BatchState,
  ev: Checkout,
  customerId: string,
  verdict: Extract<Plausibility, { ok: false }>,
  eventId: string,
  now: number,
): void {
  const evidence = { rule: verdict.rule, field: verdict.field, reason: verdict.reason, address: ev.address };
  state.deferred.push((trx) =>
    queueAddressQuarantine(
      trx,
      {
        customer_id: customerId,
        evidence: { ...evidence, order_id: ev.order_id },
        source_system: ev.source,
        event_id: eventId,
      },
      now,
    ),
  );
}

/**
 * A system of record changed a person. An echo of Hearth's own write is recognised (the
 * vendor's origin marker, or the values we wrote) and goes no further: no sync loops.
 */
export function applyContactUpdate(
  state: BatchState,
  ctx: EngineContext,
  ev: ContactUpdate,
  eventId: string,
  now: number,
): ApplyOutcome {
  if (ev.origin_is_hearth || isEcho(state, ev.source, ev.external_id, ev.vendor_fields))
    return { status: 'echo', jobs: 0, rejected: [] };
  matchIncoming(state, ctx.identity, ev, eventId, now);
  const customer = resolveCustomer(state, ev.source, ev.external_id, ev.contact.email, now, ev.hearth_id);
  const link = setLink(state, ev.source, ev.external_id, customer.id, ev.vendor_fields, now);
  // Only the fields this event changed are applied (not those it carries to identify the
  // record); the snapshot completes a partial address.
  const changed = changedContact(ev, customer);
  const whole = ctx.contactFromFields(ev.source, link.snapshot ?? {});
  const contact = whole && changed.address !== undefined ? { ...changed, address: whole.address ?? null } : changed;
  const incoming = toIncoming(ctx, contact, false, ev.cleared);
  const origin = { source: ev.source, event_id: eventId, occurred_at: ev.occurred_at };
  const outcome = applyIncoming(state, ctx, customer, incoming, origin, now);
  // A change the policy refuses is neither applied nor dropped: it becomes a drift finding.
  if (outcome.rejected.length) queueOwnershipFindings(state, customer, incoming, ev.external_id, origin, outcome, now);
  return outcome;
}

/**
 * The event's contact without the fields it carries only to identify the record; such a field
 * still fills one the customer lacks (a customer this event created has no e-mail yet).
 */
function changedContact(ev: ContactUpdate, customer: CustomersTable): CanonicalContact {
  if (!ev.unchanged?.length) return ev.contact;
  const contact = { ...ev.contact };
  for (const f of ev.unchanged) if (f === 'address' || customer[f] !== null) delete contact[f];
  return contact;
}

function queueOwnershipFindings(
  state: BatchState,
  customer: CustomersTable,
  incoming: IncomingContact,
  externalId: string,
  origin: ChangeOrigin,
  outcome: ApplyOutcome,
  now: number,
): void {
  const findings = outcome.rejected.map((r) => {
    const field = r.field as Exclude<keyof IncomingContact, 'cleared'>;
    const ours = field === 'address' ? addressOf(customer) : customer[field];
    const theirs = field === 'address' ? (incoming.address?.value ?? null) : incoming[field];
    const text = (v: unknown) => (v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v));
    return {
      system: origin.source,
      external_id: externalId,
      customer_id: customer.id,
      field,
      canonical_value: text(ours),
      system_value: text(theirs),
      reason: r.reason,
      event_id: origin.event_id,
    };
  });
  state.deferred.push(async (trx) => {
    for (const f of findings) await recordOwnershipFinding(trx, f, now);
  });
}

function applyIncoming(
  state: BatchState,
  ctx: EngineContext,
  customer: CustomersTable,
  incoming: IncomingContact,
  origin: ChangeOrigin,
  now: number,
): ApplyOutcome {
  const previous = addressOf(customer);
  const plan = planChanges(customer, incoming, origin.source, ctx.policy, origin.occurred_at);
  const after = applyPlan(state, customer, plan, origin, now);
  const crm = state.crmLinks.get(after.id) ?? null;
  const jobs = outboundJobs(
    ctx,
    after,
    previous,
    plan,
    origin,
    crm?.external_id ?? null,
    crmAlreadyThere(ctx, after, crm),
  );
  state.jobs.push(...jobs);
  return { status: 'applied', customer_id: after.id, jobs: jobs.length, rejected: plan.rejected };
}

/** The row update, a version bump and one change-log row per field (old, new, source, actor, event). */
function applyPlan(
  state: BatchState,
  row: CustomersTable,
  plan: ChangePlan,
  origin: ChangeOrigin,
  now: number,
): CustomersTable {
  if (plan.log.length === 0) return row;
  const next = { ...row, ...plan.updates, version: row.version + 1, updated_at: now };
  updateCustomer(state, next);
  for (const c of plan.log) {
    state.changeLog.push({
      id: newId('chg', now),
      customer_id: row.id,
      ...c,
      source_system: origin.source,
      actor: `connector:${origin.source}`,
      event_id: origin.event_id,
      changed_at: now,
    });
  }
  return next;
}

/** Does the CRM, as last seen, already hold this delivery point (perhaps spelled its own way)? */
function crmAlreadyThere(ctx: EngineContext, after: CustomersTable, crm: LinkState | null): boolean {
  if (!crm?.snapshot || !ctx.writeback_crm || !after.address_key) return false;
  const address = ctx.contactFromFields(ctx.writeback_crm, crm.snapshot)?.address;
  return Boolean(address?.line1) && ctx.keyAddress(address!) === after.address_key;
}

/** A partial address (a CRM reporting only `city`) is not a delivery point; it is left out. */
function toIncoming(
  ctx: EngineContext,
  c: CanonicalContact,
  validated: boolean,
  cleared?: readonly ClearableField[],
): IncomingContact {
  const address = c.address?.line1 ? { value: c.address, key: ctx.keyAddress(c.address), validated } : null;
  const person = { given_name: c.given_name, family_name: c.family_name, email: c.email, phone: c.phone, address };
  // A clear counts only for a field still carried as null (a stale one was dropped from the contact).
  const clears = cleared?.filter((f) => c[f] === null) ?? [];
  return clears.length ? { ...person, cleared: clears } : person;
}
