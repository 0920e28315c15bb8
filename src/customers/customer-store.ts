import type { Kysely } from 'kysely';
import type { CustomersTable, Database } from '../db/schema.ts';

type Db = Kysely<Database>;

export async function getCustomerRow(db: Db, id: string): Promise<CustomersTable | undefined> {
  const row = await db.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirst();
  // A merged record stays resolvable: follow the pointer to the survivor.
  if (row?.merged_into) return getCustomerRow(db, row.merged_into);
  return row;
}

/** Records (or refreshes) the crosswalk entry `(system, external_id) -> customer`. */
export async function linkSource(
  db: Db,
  system: string,
  externalId: string,
  customerId: string,
  snapshot: unknown,
  now: number,
): Promise<void> {
  const json = snapshot === undefined ? null : JSON.stringify(snapshot);
  await db
    .insertInto('source_links')
    .values({
      system,
      external_id: externalId,
      customer_id: customerId,
      snapshot: json,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc
        .columns(['system', 'external_id'])
        .doUpdateSet({ customer_id: customerId, updated_at: now, ...(json === null ? {} : { snapshot: json }) }),
    )
    .execute();
}

/** Merges changed vendor properties into the link's snapshot; returns the merged snapshot. */
export async function mergeLinkSnapshot(
  db: Db,
  system: string,
  externalId: string,
  customerId: string,
  fields: Record<string, string | null>,
  now: number,
): Promise<Record<string, string | null>> {
  const row = await db
    .selectFrom('source_links')
    .select('snapshot')
    .where('system', '=', system)
    .where('external_id', '=', externalId)
    .executeTakeFirst();
  const merged = { ...(row?.snapshot ? (JSON.parse(row.snapshot) as Record<string, string | null>) : {}), ...fields };
  await linkSource(db, system, externalId, customerId, merged, now);
  return merged;
}

export async function listLinks(db: Db, customerId: string) {
  return db.selectFrom('source_links').selectAll().where('customer_id', '=', customerId).orderBy('system').execute();
}

export async function changeHistory(db: Db, customerId: string, limit = 200) {
  return db
    .selectFrom('change_log')
    .selectAll()
    .where('customer_id', '=', customerId)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}
