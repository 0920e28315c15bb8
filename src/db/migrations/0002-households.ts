import { sql, type Kysely } from 'kysely';

// Households as the CRM describes them. Membership is a timeline: a change (role, opt-in,
// leaving) closes the current row (valid_to) and opens a new one, so history is never rewritten.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('households')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text')
    .addColumn('source_system', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('households_source_uq', ['source_system', 'external_id'])
    .execute();

  await db.schema
    .createTable('household_members')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('household_id', 'text', (c) => c.notNull().references('households.id'))
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('opt_in', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('valid_from', 'bigint', (c) => c.notNull())
    .addColumn('valid_to', 'bigint')
    .addColumn('source_system', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('household_members_customer_idx')
    .on('household_members')
    .columns(['customer_id', 'valid_to'])
    .execute();
  await db.schema
    .createIndex('household_members_household_idx')
    .on('household_members')
    .columns(['household_id', 'valid_to'])
    .execute();
  // At most one open period per customer, whatever two writers race to do (partial unique index).
  await db.schema
    .createIndex('household_members_open_uq')
    .on('household_members')
    .column('customer_id')
    .unique()
    .where(sql.ref('valid_to'), 'is', null)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['household_members', 'households']) await db.schema.dropTable(t).ifExists().execute();
}
