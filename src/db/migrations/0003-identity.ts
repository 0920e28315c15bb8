import type { Kysely } from 'kysely';

// Identity resolution inside Hearth: blocking keys per customer (candidate look-up at ingest),
// the review queue (uncertain matches, household suggestions) and the merge log (unmerge).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('identity_keys')
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('identity_keys_pk', ['key', 'customer_id'])
    .execute();
  await db.schema.createIndex('identity_keys_customer_idx').on('identity_keys').column('customer_id').execute();
  // Keys of customers that existed before this migration are written by the identity domain
  // after migrating (identity/ingest-model.ts rebuildIdentityKeys): a migration runs no domain code.

  await db.schema
    .createTable('review_items')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('subject_key', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('customer_ids', 'text', (c) => c.notNull())
    .addColumn('score', 'double precision')
    .addColumn('explanation', 'text')
    .addColumn('source_system', 'text')
    .addColumn('event_id', 'text')
    .addColumn('merge_id', 'text')
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('review_items_subject_uq', ['kind', 'subject_key'])
    .execute();
  await db.schema.createIndex('review_items_status_idx').on('review_items').columns(['status', 'kind', 'id']).execute();

  await db.schema
    .createTable('merge_log')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('survivor_id', 'text', (c) => c.notNull())
    .addColumn('merged_id', 'text', (c) => c.notNull())
    .addColumn('survivor_before', 'text', (c) => c.notNull())
    .addColumn('merged_before', 'text', (c) => c.notNull())
    .addColumn('survivor_after', 'text', (c) => c.notNull())
    .addColumn('moved_links', 'text', (c) => c.notNull())
    .addColumn('undoes', 'text')
    .addColumn('undone_by', 'text')
    .addColumn('review_id', 'text')
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('merge_log_merged_idx').on('merge_log').columns(['merged_id', 'created_at']).execute();
}

// Customers that exist before this migration become match candidates too.
export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['merge_log', 'review_items', 'identity_keys']) await db.schema.dropTable(t).ifExists().execute();
}
