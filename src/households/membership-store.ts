import type { Kysely } from 'kysely';
import type { Database, HierarchyRole, HouseholdMembersTable } from '../db/schema.ts';
import { newId } from '../ids.ts';

type Db = Kysely<Database>;

/** A customer's membership as of one moment. */
export interface Membership {
  household_id: string;
  customer_id: string;
  role: HierarchyRole;
  points_aggregation_opt_in: boolean;
  valid_from: number;
  valid_to: number | null;
}

export interface MembershipInput {
  household_id: string;
  role: HierarchyRole;
  opt_in: boolean;
  source_system: string;
}

/** A stored membership period as the domain sees it. */
export function toMembership(r: HouseholdMembersTable): Membership {
  return {
    household_id: r.household_id,
    customer_id: r.customer_id,
    role: r.role,
    points_aggregation_opt_in: r.opt_in === 1,
    valid_from: r.valid_from,
    valid_to: r.valid_to,
  };
}

/** Finds or creates the household a CRM record stands for; returns its `hh_` id. */
export async function upsertHousehold(
  db: Db,
  source: string,
  externalId: string,
  name: string | null,
  now: number,
): Promise<string> {
  const found = await db
    .selectFrom('households')
    .select('id')
    .where('source_system', '=', source)
    .where('external_id', '=', externalId)
    .executeTakeFirst();
  if (found) {
    if (name !== null)
      await db.updateTable('households').set({ name, updated_at: now }).where('id', '=', found.id).execute();
    return found.id;
  }
  const id = newId('hh', now);
  await db
    .insertInto('households')
    .values({ id, name, source_system: source, external_id: externalId, created_at: now, updated_at: now })
    .onConflict((oc) => oc.columns(['source_system', 'external_id']).doNothing())
    .execute();
  const row = await db
    .selectFrom('households')
    .select('id')
    .where('source_system', '=', source)
    .where('external_id', '=', externalId)
    .executeTakeFirstOrThrow();
  return row.id;
}

/** The membership in force at `at` (default: the open one), or undefined. */
export async function membershipAt(db: Db, customerId: string, at?: number): Promise<Membership | undefined> {
  let q = db.selectFrom('household_members').selectAll().where('customer_id', '=', customerId);
  q =
    at === undefined
      ? q.where('valid_to', 'is', null)
      : q.where('valid_from', '<=', at).where((eb) => eb.or([eb('valid_to', 'is', null), eb('valid_to', '>', at)]));
  const row = await q.orderBy('valid_from', 'desc').executeTakeFirst();
  return row ? toMembership(row) : undefined;
}

/** Members of a household at `at` (default: now, the open periods). */
export async function householdMembersAt(db: Db, householdId: string, at?: number): Promise<Membership[]> {
  let q = db.selectFrom('household_members').selectAll().where('household_id', '=', householdId);
  q =
    at === undefined
      ? q.where('valid_to', 'is', null)
      : q.where('valid_from', '<=', at).where((eb) => eb.or([eb('valid_to', 'is', null), eb('valid_to', '>', at)]));
  return (await q.orderBy('customer_id').execute()).map(toMembership);
}

/** Every period of a household, oldest first (the history view). */
export async function householdHistory(db: Db, householdId: string): Promise<Membership[]> {
  const rows = await db
    .selectFrom('household_members')
    .selectAll()
    .where('household_id', '=', householdId)
    .orderBy('valid_from')
    .orderBy('id')
    .execute();
  return rows.map(toMembership);
}

/**
 * Sets a customer's membership from `now` on: a no-op when it is unchanged, else the open period
 * is closed and (unless `next` is null: the customer left) a new one opened. Returns the closed
 * and opened periods so callers (the ledger's split policy) can react in the same transaction.
 */
export async function setMembership(
  db: Db,
  customerId: string,
  next: MembershipInput | null,
  now: number,
): Promise<{ closed?: Membership; opened?: Membership }> {
  const current = await membershipAt(db, customerId);
  if (
    current &&
    next &&
    current.household_id === next.household_id &&
    current.role === next.role &&
    current.points_aggregation_opt_in === next.opt_in
  )
    return {};
  if (!current && !next) return {};
  if (current)
    await db
      .updateTable('household_members')
      .set({ valid_to: now })
      .where('customer_id', '=', customerId)
      .where('valid_to', 'is', null)
      .execute();
  if (!next) return { closed: { ...current!, valid_to: now } };
  await db
    .insertInto('household_members')
    .values({
      id: newId('hm', now),
      household_id: next.household_id,
      customer_id: customerId,
      role: next.role,
      opt_in: next.opt_in ? 1 : 0,
      valid_from: now,
      valid_to: null,
      source_system: next.source_system,
      created_at: now,
    })
    .execute();
  const opened: Membership = {
    household_id: next.household_id,
    customer_id: customerId,
    role: next.role,
    points_aggregation_opt_in: next.opt_in,
    valid_from: now,
    valid_to: null,
  };
  return current ? { closed: { ...current, valid_to: now }, opened } : { opened };
}
