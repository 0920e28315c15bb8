import type { LoyaltySettings } from '../loyalty/settings.ts';
import type { Kysely } from 'kysely';
import type { HouseholdLink } from '../canonical/types.ts';
import type { Database, HierarchyRole } from '../db/schema.ts';
import { chunks } from '../db/chunks.ts';
import { applyMembershipChanges } from './membership-change.ts';
import { identityPushJobs, idpTargets, type IdpTargetSource } from './identity-push.ts';
import { enqueueJobs } from '../engine/jobs.ts';
import {
  createHouseholds,
  householdMembersAt,
  householdsByExternalId,
  openMembersOf,
  openMemberships,
  renameHouseholds,
  writeMembershipPlan,
  type HeldMembership,
  type Membership,
} from '../households/membership-store.ts';
import { membersAfter, planMemberships, type PlannedChange, type ResolvedWant } from '../households/membership-plan.ts';

type Db = Kysely<Database>;

/** What a membership change needs besides the change: where IdP pushes go, the job attempt budget. */
export interface MembershipEffects {
  idp: IdpTargetSource;
  max_attempts: number;
  loyalty: LoyaltySettings;
}

/** Why a membership changed (the IdP push jobs carry it). */
export interface ChangeCause {
  source: string;
  occurred_at: number;
  event_id?: string | null;
}

export interface MembershipOutcome {
  changed: boolean;
  household_created: boolean;
  closed?: Membership;
  opened?: Membership;
}

/** The wanted membership of one customer: a CRM household record, role and consent; null: none. */
export interface WantedMembership {
  household: { external_id: string; name: string | null } | null;
  role: HierarchyRole;
  opt_in: boolean;
}

/** One customer's wanted membership in a batch. */
export interface WantedFor {
  customer_id: string;
  want: WantedMembership | HouseholdLink;
}

/**
 * Brings one customer's membership to what the CRM says, in the caller's transaction: the
 * household row is found or created, the timeline closes/opens a period when anything differs,
 * and a change is handed to the loyalty ledger (split, tiers) and queued for the identity
 * providers — all in the same transaction, so the ledger and IdP never see half a change.
 */
export async function applyWantedMembership(
  trx: Db,
  source: string,
  customerId: string,
  want: WantedMembership | HouseholdLink,
  fx: MembershipEffects,
  cause: ChangeCause,
  now: number,
): Promise<MembershipOutcome> {
  const [out] = await applyWantedMemberships(trx, source, [{ customer_id: customerId, want }], fx, cause, now);
  return out!;
}

/** What a caller already read, so a batch does not read it again. */
export interface KnownToBatch {
  /** Customers' e-mails by customer id (for the IdP pushes). */
  emails?: ReadonlyMap<string, string | null>;
  /** Open memberships by customer id (undefined: in none), as `openMemberships` reads them. */
  held?: ReadonlyMap<string, HeldMembership | undefined>;
}

/**
 * `applyWantedMembership` for a batch (a page of a pull), set-based: the open memberships (with
 * their households) are read with one statement and only the households not found there with
 * another; the timeline changes are worked out in memory (each want in order, as if applied one
 * by one), written with multi-row statements, and their ledger, tier and IdP consequences follow
 * once for the batch. One outcome per want, in order.
 */
export async function applyWantedMemberships(
  trx: Db,
  source: string,
  items: readonly WantedFor[],
  fx: MembershipEffects,
  cause: ChangeCause,
  now: number,
  known: KnownToBatch = {},
): Promise<MembershipOutcome[]> {
  if (items.length === 0) return [];
  const held = new Map<string, HeldMembership | undefined>(known.held ?? []);
  const unread = items.map((i) => i.customer_id).filter((id) => !held.has(id));
  if (unread.length > 0) for (const [id, m] of await openMemberships(trx, unread)) held.set(id, m);
  // A page names the same household for each member: found or created once, with the first name given.
  const named = new Map<string, string | null>();
  for (const { want } of items)
    if (want.household && !named.has(want.household.external_id))
      named.set(want.household.external_id, want.household.name);
  const found = new Map<string, { id: string; name: string | null }>();
  for (const m of held.values())
    if (m && m.household_source === source)
      found.set(m.household_external_id, { id: m.household_id, name: m.household_name });
  const lookup = [...named.keys()].filter((ext) => !found.has(ext));
  if (lookup.length > 0) for (const [ext, h] of await householdsByExternalId(trx, source, lookup)) found.set(ext, h);
  const missing = [...named].filter(([ext]) => !found.has(ext)).map(([external_id, name]) => ({ external_id, name }));
  const created = missing.length > 0 ? await createHouseholds(trx, source, missing, now) : new Map<string, string>();
  const renamed = new Map<string, string>();
  for (const [ext, name] of named) {
    const h = found.get(ext);
    if (h && name !== null && name !== h.name) renamed.set(h.id, name);
  }
  await renameHouseholds(trx, renamed, now);
  const idOf = (ext: string): string => found.get(ext)?.id ?? created.get(ext)!;
  const wants = items.map(({ customer_id, want }) => ({
    customer_id,
    next: want.household
      ? { household_id: idOf(want.household.external_id), role: want.role, opt_in: want.opt_in, source_system: source }
      : null,
  }));
  const stored = new Map<string, Membership>();
  for (const [id, m] of held) if (m) stored.set(id, m);
  // A household created just now has no members to read.
  const changes = await applyResolvedMemberships(trx, wants, stored, fx, cause, now, known.emails, created.values());
  const firstNamed = new Set<string>();
  return items.map(({ want }, i): MembershipOutcome => {
    const ext = want.household?.external_id;
    const isNew = ext !== undefined && created.has(ext) && !firstNamed.has(ext);
    if (ext !== undefined) firstNamed.add(ext);
    const change = changes[i];
    if (!change) return { changed: false, household_created: isNew };
    const { customer_id: _, ...periods } = change;
    return { changed: true, household_created: isNew, ...periods };
  });
}

/**
 * The timeline part of a batch, households resolved, against the stored open memberships of its
 * customers: loads the open members of the households it touches, writes the plan, then the
 * ledger and tier consequences and the IdP pushes of the changed customers. The change of each
 * want, or null.
 */
async function applyResolvedMemberships(
  trx: Db,
  wants: readonly ResolvedWant[],
  stored: ReadonlyMap<string, Membership>,
  fx: MembershipEffects,
  cause: ChangeCause,
  now: number,
  emails?: ReadonlyMap<string, string | null>,
  memberless: Iterable<string> = [],
): Promise<(PlannedChange | null)[]> {
  const plan = planMemberships(stored, wants, now);
  const changes = plan.changes.filter((c): c is PlannedChange => c !== null);
  if (changes.length === 0) return plan.changes;
  const empty = new Set(memberless);
  const touched = new Set(changes.flatMap((c) => [c.closed?.household_id, c.opened?.household_id]));
  const read = [...touched].filter((h): h is string => h !== undefined && !empty.has(h));
  const before = read.length > 0 ? await openMembersOf(trx, read) : new Map<string, Membership[]>();
  for (const h of touched) if (h !== undefined && !before.has(h)) before.set(h, []);
  await writeMembershipPlan(trx, plan, now);
  await applyMembershipChanges(trx, changes, plan.open, membersAfter(before, plan), now, fx.loyalty);
  await queueIdentityPushes(trx, fx, [...new Set(changes.map((c) => c.customer_id))], cause, now, emails);
  return plan.changes;
}

/** The IdP pushes of customers whose membership changed (none when no identity provider is configured). */
async function queueIdentityPushes(
  trx: Db,
  fx: MembershipEffects,
  customerIds: string[],
  cause: ChangeCause,
  now: number,
  emails?: ReadonlyMap<string, string | null>,
): Promise<void> {
  if (idpTargets(fx.idp).length === 0 || customerIds.length === 0) return;
  const known = new Map(emails ?? []);
  const unknown = customerIds.filter((id) => !known.has(id));
  for (const part of chunks(unknown, 500))
    for (const r of await trx.selectFrom('customers').select(['id', 'email']).where('id', 'in', part).execute())
      known.set(r.id, r.email);
  const customers = customerIds.map((id) => ({ id, email: known.get(id) ?? null }));
  const jobs = await identityPushJobs(trx, fx.idp, fx.loyalty, customers, cause, now);
  await enqueueJobs(trx, jobs, fx.max_attempts, now);
}

/** The customer's open membership with its household's CRM record id (for "left household X"). */
export async function currentMembership(
  db: Db,
  customerId: string,
): Promise<(Membership & { household_external_id: string; household_source: string }) | undefined> {
  const held = (await openMemberships(db, [customerId])).get(customerId);
  if (!held) return undefined;
  const { household_name: _, ...m } = held;
  return m;
}

/**
 * One head per household when the CRM names the head (NPSP's primary contact): the other open
 * heads become members, each as a membership change of its own (ledger hook, IdP push).
 */
export async function demoteOtherHeads(
  trx: Db,
  source: string,
  householdId: string,
  headCustomerId: string,
  fx: MembershipEffects,
  cause: ChangeCause,
  now: number,
): Promise<number> {
  const others = (await householdMembersAt(trx, householdId)).filter(
    (m) => m.role === 'head' && m.customer_id !== headCustomerId,
  );
  const stored = new Map(others.map((m) => [m.customer_id, m]));
  await applyResolvedMemberships(
    trx,
    others.map((m) => ({
      customer_id: m.customer_id,
      next: { household_id: householdId, role: 'member', opt_in: m.points_aggregation_opt_in, source_system: source },
    })),
    stored,
    fx,
    cause,
    now,
  );
  return others.length;
}
