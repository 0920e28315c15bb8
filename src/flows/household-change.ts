import type { Kysely } from 'kysely';
import { CONTACT_FETCH, type ContactFetchPayload } from '../connectors/contact-fetch.ts';
import type { CanonicalEvent } from '../canonical/types.ts';
import type { NewJob } from '../engine/jobs.ts';
import type { Database, HierarchyRole } from '../db/schema.ts';
import { linkKey, resolveCustomer, type BatchState } from './batch-state.ts';
import type { ApplyOutcome, EngineContext, HouseholdEngineContext } from './context.ts';
import { parseOptIn } from '../canonical/opt-in.ts';
import { applyWantedMemberships, demoteOtherHeads, type WantedMembership } from './membership-apply.ts';
import { openMemberships, type HeldMembership as HeldRow } from '../households/membership-store.ts';

type Db = Kysely<Database>;
type HouseholdChanged = Extract<CanonicalEvent, { type: 'household.changed' }>;
type ContactUpdate = Extract<CanonicalEvent, { type: 'contact.updated' }>;

/** The open membership as the event rules see it. */
export interface HeldMembership {
  household_external_id: string;
  role: HierarchyRole;
  opt_in: boolean;
}

/**
 * The membership a `household.changed` event leads to, from the current one and what the CRM
 * said — or 'keep'. Pure. A role the event does not name is kept when the contact stays in the
 * same household, else 'member' (a pull settles the head); consent stays with the person.
 */
export function membershipAfter(
  current: HeldMembership | undefined,
  ev: Pick<HouseholdChanged, 'joined' | 'left'>,
  knownOptIn: boolean,
): WantedMembership | 'keep' {
  const j = ev.joined;
  if (j) {
    const same = current?.household_external_id === j.household_external_id;
    if (current && !same && !j.primary) return 'keep';
    const role = j.role ?? (same ? current!.role : 'member');
    return {
      household: { external_id: j.household_external_id, name: null },
      role,
      opt_in: current?.opt_in ?? knownOptIn,
    };
  }
  if (ev.left && current && (ev.left === '*' || ev.left === current.household_external_id))
    return { household: null, role: current.role, opt_in: current.opt_in };
  return 'keep';
}

/**
 * A CRM changed a contact's household relationship. The customer is resolved (a contact Hearth
 * has not seen yet gets a customer and crosswalk entry at once, and a job fetches the contact
 * from the CRM — never dropped); the membership change runs as a deferred task in the batch's
 * transaction.
 */
export function applyHouseholdChanged(
  state: BatchState,
  ctx: EngineContext,
  ev: HouseholdChanged,
  eventId: string,
  now: number,
): ApplyOutcome {
  const hh = ctx.households;
  if (!hh || ev.source !== hh.source) return { status: 'ignored', jobs: 0, rejected: [] };
  if (ev.origin_is_hearth) return { status: 'echo', jobs: 0, rejected: [] };
  const unseen = !state.links.has(linkKey(ev.source, ev.external_id));
  const customer = resolveCustomer(state, ev.source, ev.external_id, null, now);
  // A contact Hearth has not seen is fetched from the CRM, not dropped: the fetch job's result
  // comes back through the inbox as a contact.updated that fills the customer in.
  if (unseen)
    state.jobs.push(
      contactFetchJob(ev.source, ev.external_id, hh.opt_in_property, customer.id, eventId, ev.occurred_at),
    );
  const knownOptIn = parseOptIn(state.links.get(linkKey(ev.source, ev.external_id))?.snapshot?.[hh.opt_in_property]);
  state.deferred.push(async (trx) => {
    const { open, held } = await heldMembership(trx, customer.id, hh.source);
    const want = membershipAfter(held, ev, knownOptIn);
    if (want === 'keep') return;
    const cause = { source: ev.source, occurred_at: ev.occurred_at, event_id: eventId };
    const [out] = await applyWantedMemberships(
      trx,
      hh.source,
      [{ customer_id: customer.id, want }],
      effects(ctx, hh),
      cause,
      now,
      { held: open },
    );
    // The CRM named this contact the head (NPSP primary contact): the former head is a member now.
    if (ev.joined?.role === 'head' && out?.opened)
      await demoteOtherHeads(trx, hh.source, out.opened.household_id, customer.id, effects(ctx, hh), cause, now);
  });
  return { status: 'applied', customer_id: customer.id, jobs: 0, rejected: [] };
}

/**
 * After a contact update from the household CRM was applied: when it carries the opt-in
 * property, the member's consent follows it at once (a new membership period).
 */
export function applyOptInFromUpdate(
  state: BatchState,
  ctx: EngineContext,
  ev: ContactUpdate,
  outcome: ApplyOutcome,
  eventId: string,
  now: number,
): ApplyOutcome {
  const hh = ctx.households;
  if (
    !hh ||
    ev.source !== hh.source ||
    outcome.status !== 'applied' ||
    !outcome.customer_id ||
    !(hh.opt_in_property in ev.vendor_fields)
  )
    return outcome;
  const customerId = outcome.customer_id;
  const optIn = parseOptIn(ev.vendor_fields[hh.opt_in_property]);
  state.deferred.push(async (trx) => {
    const { open, held } = await heldMembership(trx, customerId, hh.source);
    if (!held || held.opt_in === optIn) return;
    const want = { household: { external_id: held.household_external_id, name: null }, role: held.role, opt_in: optIn };
    await applyWantedMemberships(
      trx,
      hh.source,
      [{ customer_id: customerId, want }],
      effects(ctx, hh),
      { source: ev.source, occurred_at: ev.occurred_at, event_id: eventId },
      now,
      { held: open },
    );
  });
  return outcome;
}

function contactFetchJob(
  system: string,
  externalId: string,
  optInProperty: string,
  customerId: string,
  eventId: string,
  at: number,
): NewJob {
  const payload: ContactFetchPayload = { external_id: externalId, extra_properties: [optInProperty] };
  return {
    target: system,
    kind: CONTACT_FETCH,
    job_key: `${system}:fetch:${externalId}`,
    payload,
    origin_at: at,
    event_id: eventId,
    customer_id: customerId,
    supersedes_pending: true,
  };
}

const effects = (ctx: EngineContext, hh: HouseholdEngineContext) => ({
  idp: hh.idp,
  max_attempts: ctx.max_attempts,
  loyalty: ctx.loyalty,
});

/**
 * The open membership as read (any source: the batch plans against it, so it is not read twice)
 * and as the event rules see it: only a household of this CRM (another source's is left alone).
 */
async function heldMembership(
  trx: Db,
  customerId: string,
  source: string,
): Promise<{ open: Map<string, HeldRow | undefined>; held: HeldMembership | undefined }> {
  const m = (await openMemberships(trx, [customerId])).get(customerId);
  const open = new Map([[customerId, m]]);
  if (!m || m.household_source !== source) return { open, held: undefined };
  return {
    open,
    held: { household_external_id: m.household_external_id, role: m.role, opt_in: m.points_aggregation_opt_in },
  };
}
