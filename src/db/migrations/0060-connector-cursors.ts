import type { Kysely } from 'kysely';

// Where a connector's own stream or long read stopped: the Salesforce CDC replay id per channel
// (written in the same transaction as the inbox rows it covers, so a restart resumes exactly), a
// full re-pull still owed after an expired replay id, and the Shopify bulk operation a backfill
// is reading. One row per (connector, stream); `position` is opaque to everything but the connector.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('connector_cursors')
    .addColumn('connector', 'text', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('position', 'text')
    .addColumn('repull_pending', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('connector_cursors_pk', ['connector', 'stream'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('connector_cursors').ifExists().execute();
}
