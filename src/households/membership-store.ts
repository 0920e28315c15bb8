import type { Kysely } from 'kysely';
import type { Database, HierarchyRole, HouseholdMembersTable } from '../db/schema.ts';
import { chunks } from '../db/chunks.ts';
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

/** The wanted membership is the open one already (same household, role and consent): nothing to write. */
export function sameMembership(current: Membership | undefined | null, next: MembershipInput | null): boolean {
  return (
    !!current &&
    !!next &&
    current.household_id === next.household_id &&
    current.role === next.role &&
    current.points_aggregation_opt_in === next.opt_in
  );
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
  if (sameMembership(current, next)) return {};
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

// `in (...)` lists and multi-row statements stay well under both dialects' parameter limits.
const CHUNK = 500;

/** The households of these CRM records that exist, by CRM record id. */
export async function householdsByExternalId(
  db: Db,
  source: string,
  externalIds: readonly string[],
): Promise<Map<string, { id: string; name: string | null }>> {
  const out = new Map<string, { id: string; name: string | null }>();
  for (const part of chunks([...new Set(externalIds)], CHUNK)) {
    const rows = await db
      .selectFrom('households')
      .select(['id', 'external_id', 'name'])
      .where('source_system', '=', source)
      .where('external_id', 'in', part)
      .execute();
    for (const r of rows) out.set(r.external_id, { id: r.id, name: r.name });
  }
  return out;
}

/**
 * Creates the households of these CRM records (known not to exist) with multi-row statements;
 * returns their ids by CRM record id. One another writer created meanwhile is read back.
 */
export async function createHouseholds(
  db: Db,
  source: string,
  wanted: readonly { external_id: string; name: string | null }[],
  now: number,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const part of chunks(wanted, CHUNK / 5)) {
    const rows = part.map((h) => ({
      id: newId('hh', now),
      name: h.name,
      source_system: source,
      external_id: h.external_id,
      created_at: now,
      updated_at: now,
    }));
    const res = await db
      .insertInto('households')
      .values(rows)
      .onConflict((oc) => oc.columns(['source_system', 'external_id']).doNothing())
      .executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0n) === rows.length) {
      for (const r of rows) out.set(r.external_id, r.id);
      continue;
    }
    const found = await householdsByExternalId(
      db,
      source,
      part.map((h) => h.external_id),
    );
    for (const [ext, h] of found) out.set(ext, h.id);
  }
  return out;
}

/** Sets the names of these households (by `hh_` id). */
export async function renameHouseholds(db: Db, names: ReadonlyMap<string, string>, now: number): Promise<void> {
  for (const [id, name] of names)
    await db.updateTable('households').set({ name, updated_at: now }).where('id', '=', id).execute();
}

/** An open membership with its household's CRM record (for "left household X" and lookups). */
export interface HeldMembership extends Membership {
  household_external_id: string;
  household_source: string;
  household_name: string | null;
}

/**
 * The open membership of each of these customers (as `membershipAt`: the latest open period) with
 * its household's CRM record, one joined statement per 500 customers.
 */
export async function openMemberships(db: Db, customerIds: readonly string[]): Promise<Map<string, HeldMembership>> {
  const out = new Map<string, HeldMembership>();
  for (const part of chunks([...new Set(customerIds)], CHUNK)) {
    const rows = await db
      .selectFrom('household_members as m')
      .innerJoin('households as h', 'h.id', 'm.household_id')
      .selectAll('m')
      .select([
        'h.external_id as household_external_id',
        'h.source_system as household_source',
        'h.name as household_name',
      ])
      .where('m.customer_id', 'in', part)
      .where('m.valid_to', 'is', null)
      .orderBy('m.valid_from')
      .execute();
    for (const r of rows)
      out.set(r.customer_id, {
        ...toMembership(r),
        household_external_id: r.household_external_id,
        household_source: r.household_source,
        household_name: r.household_name,
      });
  }
  return out;
}

/** The open members of each of these households (every household listed, members by customer id). */
export async function openMembersOf(db: Db, householdIds: readonly string[]): Promise<Map<string, Membership[]>> {
  const ids = [...new Set(householdIds)];
  const out = new Map<string, Membership[]>(ids.map((id) => [id, []]));
  for (const part of chunks(ids, CHUNK)) {
    const rows = await db
      .selectFrom('household_members')
      .selectAll()
      .where('household_id', 'in', part)
      .where('valid_to', 'is', null)
      .orderBy('customer_id')
      .execute();
    for (const r of rows) out.get(r.household_id)!.push(toMembership(r));
  }
  return out;
}

/** Writes a batch's timeline changes: one statement closing the open periods, multi-row inserts. */
export async function writeMembershipPlan(
  db: Db,
  plan: { close: readonly string[]; insert: readonly { period: Membership; source_system: string }[] },
  now: number,
): Promise<void> {
  for (const part of chunks(plan.close, CHUNK))
    await db
      .updateTable('household_members')
      .set({ valid_to: now })
      .where('customer_id', 'in', part)
      .where('valid_to', 'is', null)
      .execute();
  for (const part of chunks(plan.insert, CHUNK / 5))
    await db
      .insertInto('household_members')
      .values(
        part.map(({ period: p, source_system }) => ({
          id: newId('hm', now),
          household_id: p.household_id,
          customer_id: p.customer_id,
          role: p.role,
          opt_in: p.points_aggregation_opt_in ? 1 : 0,
          valid_from: p.valid_from,
          valid_to: p.valid_to,
          source_system,
          created_at: now,
        })),
      )
      .execute();
}
