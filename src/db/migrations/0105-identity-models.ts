import type { Kysely } from 'kysely';

// Identity matching at ingest learns its parameters from the batch model: `hearth identity train`
// fits the Fellegi-Sunter model (EM, no labels) over the stored customers and stores it here as
// a new version; ingest scores with the latest version and records it on each review item (and,
// for automatic links, in the change log actor).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('identity_models')
    .addColumn('version', 'integer', (c) => c.primaryKey())
    .addColumn('model_id', 'text', (c) => c.notNull().unique())
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('records', 'integer', (c) => c.notNull())
    .addColumn('candidate_pairs', 'integer', (c) => c.notNull())
    .addColumn('trained_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('review_items').addColumn('model_version', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('review_items').dropColumn('model_version').execute();
  await db.schema.dropTable('identity_models').ifExists().execute();
}
