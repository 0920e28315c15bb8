import type { Kysely } from 'kysely';

// The points ledger is append-only: balances are sums over it, never a stored number. An
// account is a customer (`cus_`) or a household pool (`hh_`); its row in `loyalty_accounts`
// exists only to be locked by debits (redemption, split), so concurrent debits never overdraw.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ledger_entries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text')
    .addColumn('household_id', 'text')
    .addColumn('points', 'bigint', (c) => c.notNull())
    .addColumn('spend_minor', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('currency', 'text')
    .addColumn('order_ref', 'text')
    .addColumn('order_name', 'text')
    .addColumn('ref_entry_id', 'text')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('idempotency_key', 'text', (c) => c.unique())
    .addColumn('occurred_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('ledger_entries_account_idx')
    .on('ledger_entries')
    .columns(['account_id', 'occurred_at'])
    .execute();
  await db.schema
    .createIndex('ledger_entries_customer_idx')
    .on('ledger_entries')
    .columns(['customer_id', 'kind'])
    .execute();
  await db.schema.createIndex('ledger_entries_order_idx').on('ledger_entries').columns(['order_ref']).execute();

  await db.schema
    .createTable('loyalty_accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('lock_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('tier_state')
    .addColumn('customer_id', 'text', (c) => c.primaryKey())
    .addColumn('tier', 'text')
    .addColumn('basis', 'text', (c) => c.notNull())
    .addColumn('basis_id', 'text', (c) => c.notNull())
    .addColumn('qualifying_spend_minor', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['tier_state', 'loyalty_accounts', 'ledger_entries'])
    await db.schema.dropTable(t).ifExists().execute();
}
