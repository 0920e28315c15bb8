import type { Kysely } from 'kysely';

// Governance (issue 15), after encryption at rest:
// - `inbox_subjects`: who an inbox event is about, as keyed hashes (the e-mail's and the source
//   record's lookup hashes) and the customer id it was applied to, written while a data key is set.
//   Encrypted payloads cannot be searched with LIKE; an erasure finds the events that carried the
//   person here instead. `-` marks an event that names nobody (so it is known to be indexed).
// - `field_disclosures`: which person fields each delivered job carried to which system (names,
//   never values): the audit of data minimisation.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('inbox_subjects')
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('inbox_subjects_pk', ['subject', 'event_id'])
    .execute();
  await db.schema.createIndex('inbox_subjects_event_idx').on('inbox_subjects').column('event_id').execute();
  await db.schema
    .createTable('field_disclosures')
    .addColumn('job_id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text')
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('fields', 'text', (c) => c.notNull())
    .addColumn('delivered_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('field_disclosures_customer_idx')
    .on('field_disclosures')
    .columns(['customer_id', 'delivered_at'])
    .execute();
  await db.schema
    .createIndex('field_disclosures_system_idx')
    .on('field_disclosures')
    .columns(['system', 'delivered_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('field_disclosures').ifExists().execute();
  await db.schema.dropTable('inbox_subjects').ifExists().execute();
}
