import type { LoyaltySettings } from '../loyalty/settings.ts';
import type { Kysely } from 'kysely';
import type { HouseholdLink } from '../canonical/types.ts';
import type { Database, HierarchyRole } from '../db/schema.ts';
import { applyMembershipChange } from '../flows/membership-change.ts';
import { identityPushJobs, type IdpTargetSource } from './identity-push.ts';
import { enqueueJobs } from '../engine/jobs.ts';
import {
  householdMembersAt,
  membershipAt,
  setMembership,
  upsertHousehold,
  type Membership,
} from '../households/membership-store.ts';

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

/**
 * Brings one customer's membership to what the CRM says, in the caller's transaction: the
 * household row is found or created, the timeline closes/opens a period when anything differs,
 * and a change is handed to the loyalty ledger (split, tiers) and queued for the identity
 * providers — all in the same transaction, so the ledger and IdP never see half a change.
 * `seen` (CRM household id -> `hh_` id) lets a caller applying many members skip repeat lookups.
 */
export async function applyWantedMembership(
  trx: Db,
  source: string,
  customerId: string,
  want: WantedMembership | HouseholdLink,
  fx: MembershipEffects,
  cause: ChangeCause,
  now: number,
  seen?: Map<string, string>,
): Promise<MembershipOutcome> {
  let householdId: string | null = null;
  let created = false;
  if (want.household) {
    // A page of a pull names the same household for each member: find or create it once.
    householdId = seen?.get(want.household.external_id) ?? null;
    if (!householdId) {
      created = !(await householdExists(trx, source, want.household.external_id));
      householdId = await upsertHousehold(trx, source, want.household.external_id, want.household.name, now);
      seen?.set(want.household.external_id, householdId);
    }
  }
  const change = await setMembership(
    trx,
    customerId,
    householdId ? { household_id: householdId, role: want.role, opt_in: want.opt_in, source_system: source } : null,
    now,
  );
  if (!change.closed && !change.opened) return { changed: false, household_created: created };
  await afterMembershipChange(trx, customerId, change, fx, cause, now);
  return { changed: true, household_created: created, ...change };
}

/** The same transaction's consequences of a change: the ledger's hook, then the IdP push jobs. */
export async function afterMembershipChange(
  trx: Db,
  customerId: string,
  change: { closed?: Membership; opened?: Membership },
  fx: MembershipEffects,
  cause: ChangeCause,
  now: number,
): Promise<void> {
  await applyMembershipChange(trx, { customer_id: customerId, ...change }, now, fx.loyalty);
  const customer = await trx
    .selectFrom('customers')
    .select(['id', 'email'])
    .where('id', '=', customerId)
    .executeTakeFirst();
  const jobs = await identityPushJobs(
    trx,
    fx.idp,
    fx.loyalty,
    [{ id: customerId, email: customer?.email ?? null }],
    cause,
    now,
  );
  await enqueueJobs(trx, jobs, fx.max_attempts, now);
}

/** The customer's open membership with its household's CRM record id (for "left household X"). */
export async function currentMembership(
  db: Db,
  customerId: string,
): Promise<(Membership & { household_external_id: string; household_source: string }) | undefined> {
  const m = await membershipAt(db, customerId);
  if (!m) return undefined;
  const hh = await db
    .selectFrom('households')
    .select(['external_id', 'source_system'])
    .where('id', '=', m.household_id)
    .executeTakeFirstOrThrow();
  return { ...m, household_external_id: hh.external_id, household_source: hh.source_system };
}

async function householdExists(db: Db, source: string, externalId: string): Promise<boolean> {
  return Boolean(
    await db
      .selectFrom('households')
      .select('id')
      .where('source_system', '=', source)
      .where('external_id', '=', externalId)
      .executeTakeFirst(),
  );
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
  for (const m of others) {
    const change = await setMembership(
      trx,
      m.customer_id,
      { household_id: householdId, role: 'member', opt_in: m.points_aggregation_opt_in, source_system: source },
      now,
    );
    await afterMembershipChange(trx, m.customer_id, change, fx, cause, now);
  }
  return others.length;
}
