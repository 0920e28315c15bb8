import type { Kysely } from 'kysely';

// The batch state reads a change's CRM links as `system = ? and customer_id in (...)`. With only
// (customer_id) and the unique (system, external_id) to choose from, SQLite took the latter and
// walked every link of the CRM for each applied batch: 0.5 ms at 1,000 customers, growing with
// the table. (customer_id, system) serves both constraints; it also covers every lookup the
// (customer_id) index served, which it replaces.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('source_links_customer_system_idx')
    .on('source_links')
    .columns(['customer_id', 'system'])
    .execute();
  await db.schema.dropIndex('source_links_customer_idx').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('source_links_customer_idx').on('source_links').column('customer_id').execute();
  await db.schema.dropIndex('source_links_customer_system_idx').execute();
}
