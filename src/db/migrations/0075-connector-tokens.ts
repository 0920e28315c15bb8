import type { Kysely } from 'kysely';

// A connector's current access token shared by every Hearth process on the database (issue 12):
// renewals take a per-connector lock and re-read this row, so N processes make one token request.
// `access_token` is encrypted with the data key (null when no data key is configured: then each
// process keeps its own token in memory and only the state is shared). `state` = needs_reauth
// for the grant whose fingerprint is `grant_fp` (a SHA-256 prefix, not the secret) pauses every
// process; a process configured with another grant ignores it.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('connector_tokens')
    .addColumn('connector', 'text', (c) => c.primaryKey())
    .addColumn('access_token', 'text')
    .addColumn('expires_at', 'bigint')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('grant_fp', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('connector_tokens').ifExists().execute();
}
