import type { Kysely } from 'kysely';

// Household pulls: one row per `hearth sync pull <connector>` run, holding the vendor's page cursor
// after each committed page, so an interrupted pull resumes where it stopped.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('household_pulls')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('connector', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('cursor', 'text')
    .addColumn('pages', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('contacts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('customers_created', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('households_created', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('members_changed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('household_pulls_connector_idx')
    .on('household_pulls')
    .columns(['connector', 'status'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('household_pulls').ifExists().execute();
}
