import type { Kysely } from 'kysely';

// Encryption at rest (src/crypto/): one key-check value per data key id (a known constant
// encrypted under that key on first use), so a process started with a wrong key refuses to start
// instead of writing values it could not read back; and where a data-key rotation stopped per
// table (the last row re-encrypted), so `hearth keys rotate-data-key` resumes after a crash.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('data_keys')
    .addColumn('key_id', 'text', (c) => c.primaryKey())
    .addColumn('check_value', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('data_key_rotations')
    .addColumn('table_name', 'text', (c) => c.primaryKey())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('cursor', 'text')
    .addColumn('rewritten', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('data_key_rotations').ifExists().execute();
  await db.schema.dropTable('data_keys').ifExists().execute();
}
