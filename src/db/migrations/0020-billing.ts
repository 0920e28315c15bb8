import type { Kysely } from 'kysely';

// Billing state per billing-system customer: standing (with since-when), billing address and
// subscriptions. `customer_id` is null until the billing record can be linked to a customer;
// such rows are kept (for review) and attached when the link appears. `*_at` columns hold the
// vendor time of the change applied last, so an older delivery never overwrites a newer one.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('billing_accounts')
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text')
    .addColumn('status', 'text')
    .addColumn('status_at', 'bigint')
    .addColumn('status_reason', 'text')
    .addColumn('billing_address', 'text')
    .addColumn('address_at', 'bigint')
    .addColumn('email', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('billing_accounts_pk', ['system', 'external_id'])
    .execute();
  await db.schema.createIndex('billing_accounts_customer_idx').on('billing_accounts').column('customer_id').execute();
  await db.schema
    .createTable('billing_subscriptions')
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('changed_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('billing_subscriptions_pk', ['system', 'subscription_id'])
    .execute();
  await db.schema
    .createIndex('billing_subscriptions_account_idx')
    .on('billing_subscriptions')
    .columns(['system', 'external_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('billing_subscriptions').ifExists().execute();
  await db.schema.dropTable('billing_accounts').ifExists().execute();
}
