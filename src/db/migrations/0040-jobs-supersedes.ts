import { sql, type Kysely } from 'kysely';

// Whether a job carries a state (only the newest of its kind and key matters: an address, an
// opt-in) rather than one event of a stream (a webhook delivery). A re-drive of an old state job
// must never overwrite a newer one (jobs.ts requeueJob), so the queue has to know which is which.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('jobs')
    .addColumn('supersedes', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  // Jobs written before this migration: every kind but webhook deliveries was enqueued as a state.
  await sql`update jobs set supersedes = 1 where kind <> 'webhook.deliver'`.execute(db);
  await db.schema.createIndex('jobs_kind_key_idx').on('jobs').columns(['job_key', 'kind', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('jobs_kind_key_idx').ifExists().execute();
  await db.schema.alterTable('jobs').dropColumn('supersedes').execute();
}
