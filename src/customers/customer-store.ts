import type { Insertable, Kysely } from 'kysely';
import { chunks } from '../db/chunks.ts';
import type { CustomersTable, Database, SourceLinksTable } from '../db/schema.ts';

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

/** Vendor properties a delivery reported for one record, to merge into its crosswalk snapshot. */
export interface LinkSnapshotChange {
  external_id: string;
  customer_id: string;
  fields: Record<string, string | null>;
}

const CHUNK = 200;

/**
 * Merges changed vendor properties into the links' snapshots of one system, set-wise: one read of
 * the links and one multi-row upsert per 200 records. In order: a record named twice gets both
 * changes merged, and the last one's customer.
 */
export async function mergeLinkSnapshots(
  db: Db,
  system: string,
  changes: readonly LinkSnapshotChange[],
  now: number,
): Promise<void> {
  if (changes.length === 0) return;
  const stored = new Map<string, Record<string, string | null>>();
  for (const part of chunks([...new Set(changes.map((c) => c.external_id))], CHUNK)) {
    const rows = await db
      .selectFrom('source_links')
      .select(['external_id', 'snapshot'])
      .where('system', '=', system)
      .where('external_id', 'in', part)
      .execute();
    for (const r of rows) if (r.snapshot) stored.set(r.external_id, JSON.parse(r.snapshot));
  }
  const merged = new Map<string, { customer_id: string; snapshot: Record<string, string | null> }>();
  for (const c of changes) {
    const before = merged.get(c.external_id)?.snapshot ?? stored.get(c.external_id) ?? {};
    merged.set(c.external_id, { customer_id: c.customer_id, snapshot: { ...before, ...c.fields } });
  }
  const rows = [...merged].map(([external_id, m]) => ({
    system,
    external_id,
    customer_id: m.customer_id,
    snapshot: JSON.stringify(m.snapshot),
    created_at: now,
    updated_at: now,
  }));
  await upsertSourceLinks(db, rows);
}

/** Crosswalk rows written in chunks; an existing (system, external_id) takes the new customer and snapshot. */
export async function upsertSourceLinks(db: Db, rows: Insertable<SourceLinksTable>[]): Promise<void> {
  for (const part of chunks(rows, CHUNK))
    await db
      .insertInto('source_links')
      .values(part)
      .onConflict((oc) =>
        oc.columns(['system', 'external_id']).doUpdateSet((eb) => ({
          customer_id: eb.ref('excluded.customer_id'),
          snapshot: eb.ref('excluded.snapshot'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
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
