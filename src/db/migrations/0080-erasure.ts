import type { Kysely } from 'kysely';

// Erasure (issue 15): one row per erasure a steward ran, the keyed hashes (never the values) of the
// person's e-mail, phone and source ids so a returning webhook is recognised, the erasure job per
// connected system, webhooks held because they matched a tombstone, and the per-install secret the
// hashes are keyed with when no `security.lookup_key` is configured.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('erasures')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('removed', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('erasures_customer_idx').on('erasures').column('customer_id').execute();
  await db.schema
    .createTable('erasure_tombstones')
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('erasure_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('erasure_tombstones_pk', ['hash', 'erasure_id'])
    .execute();
  await db.schema
    .createTable('erasure_systems')
    .addColumn('erasure_id', 'text', (c) => c.notNull())
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('job_id', 'text')
    .addColumn('note', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('erasure_systems_pk', ['erasure_id', 'system'])
    .execute();
  await db.schema
    .createTable('erasure_holds')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('erasure_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull().unique())
    .addColumn('connector', 'text', (c) => c.notNull())
    .addColumn('matched', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('erasure_holds_erasure_idx').on('erasure_holds').columns(['erasure_id', 'id']).execute();
  await db.schema
    .createTable('install_secrets')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  // When a row's personal values were blanked (erasure or retention): later runs skip it.
  await db.schema.alterTable('inbox_events').addColumn('redacted_at', 'bigint').execute();
  await db.schema.alterTable('change_lineage').addColumn('redacted_at', 'bigint').execute();
  // Retention works by age: inbox events by receipt, change log by change, findings by creation.
  await db.schema.createIndex('inbox_events_received_idx').on('inbox_events').column('received_at').execute();
  await db.schema.createIndex('change_lineage_changed_idx').on('change_lineage').column('changed_at').execute();
  await db.schema.createIndex('drift_findings_created_idx').on('drift_findings').column('created_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('change_lineage').dropColumn('redacted_at').execute();
  await db.schema.alterTable('inbox_events').dropColumn('redacted_at').execute();
  for (const i of ['drift_findings_created_idx', 'change_lineage_changed_idx', 'inbox_events_received_idx'])
    await db.schema.dropIndex(i).ifExists().execute();
  for (const t of ['install_secrets', 'erasure_holds', 'erasure_systems', 'erasure_tombstones', 'erasures'])
    await db.schema.dropTable(t).ifExists().execute();
}
