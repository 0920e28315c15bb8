import type { Kysely } from 'kysely';
import type { CustomersTable, Database } from '../db/schema.ts';
import { queueHouseholdSuggestion } from './review-store.ts';
import { simplify } from './strings.ts';

type Db = Kysely<Database>;

const CHUNK = 200;

/** A proposed household: customers at one delivery point sharing a family name. */
export interface HouseholdProposal {
  subject: string;
  customer_ids: string[];
  evidence: { address_key: string; family_name: string; current_households: Record<string, string | null> };
}

const familyKey = (r: CustomersTable): string => simplify(r.family_name ?? '').replace(/ /g, '');

/**
 * Groups customers by delivery point, then by family name; a group of two or more that is not
 * already one household (as the CRM describes households) is a proposal. Pure.
 */
export function householdProposals(rows: CustomersTable[], householdOf: Map<string, string>): HouseholdProposal[] {
  const out: HouseholdProposal[] = [];
  for (const [subject, members] of groupsOf(rows)) {
    if (members.length < 2) continue;
    const households = new Set(members.map((m) => householdOf.get(m.id) ?? `none:${m.id}`));
    if (households.size === 1) continue;
    const ids = members.map((m) => m.id).sort();
    out.push({
      subject,
      customer_ids: ids,
      evidence: {
        address_key: members[0]!.address_key!,
        family_name: members[0]!.family_name!,
        current_households: Object.fromEntries(ids.map((id) => [id, householdOf.get(id) ?? null])),
      },
    });
  }
  return out;
}

/** Customers by delivery point and family name (merged ones and those lacking either left out). */
function groupsOf(rows: CustomersTable[]): Map<string, CustomersTable[]> {
  const groups = new Map<string, CustomersTable[]>();
  for (const r of rows) {
    const family = familyKey(r);
    if (r.merged_into || !r.address_key || family === '') continue;
    const key = `${r.address_key}|${family}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return groups;
}

/**
 * Proposes households for the customers at these delivery points (or at every address when
 * `addressKeys` is null) as `household_suggestion` review items. Never imposed: households
 * belong to the CRM; an operator confirms a suggestion and makes it there.
 */
export async function suggestHouseholds(
  db: Db,
  addressKeys: string[] | null,
  now: number,
): Promise<HouseholdProposal[]> {
  const rows = addressKeys === null ? await sharedAddressCustomers(db) : await customersAt(db, addressKeys);
  // Only a group of two or more can be a proposal: only their households are read (none, mostly,
  // for the delivery points of one apply batch).
  const grouped = [...groupsOf(rows).values()].filter((g) => g.length >= 2).flat();
  const householdOf = await openHouseholds(
    db,
    grouped.map((r) => r.id),
  );
  const proposals = householdProposals(rows, householdOf);
  for (const p of proposals) await queueHouseholdSuggestion(db, p.subject, p.customer_ids, p.evidence, now);
  return proposals;
}

async function customersAt(db: Db, keys: string[]): Promise<CustomersTable[]> {
  const out: CustomersTable[] = [];
  for (let i = 0; i < keys.length; i += CHUNK) {
    out.push(
      ...(await db
        .selectFrom('customers')
        .selectAll()
        .where('address_key', 'in', keys.slice(i, i + CHUNK))
        .where('merged_into', 'is', null)
        .orderBy('id')
        .execute()),
    );
  }
  return out;
}

async function sharedAddressCustomers(db: Db): Promise<CustomersTable[]> {
  const shared = db
    .selectFrom('customers')
    .select('address_key')
    .where('address_key', 'is not', null)
    .where('merged_into', 'is', null)
    .groupBy('address_key')
    .having((eb) => eb.fn.countAll(), '>', 1);
  return db
    .selectFrom('customers')
    .selectAll()
    .where('address_key', 'in', shared)
    .where('merged_into', 'is', null)
    .orderBy('id')
    .execute();
}

async function openHouseholds(db: Db, ids: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    const rows = await db
      .selectFrom('household_members')
      .select(['customer_id', 'household_id'])
      .where('customer_id', 'in', ids.slice(i, i + CHUNK))
      .where('valid_to', 'is', null)
      .execute();
    for (const r of rows) out.set(r.customer_id, r.household_id);
  }
  return out;
}
