import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';

/**
 * Nothing left to do: every inbox event applied and no job pending or running. Both tables are
 * read in one statement (one snapshot): read one after the other, an event applied in between
 * (its job created) or a fetch job settled in between (its inbox event stored) looked quiet.
 */
export async function isQuiet(db: Kysely<Database>): Promise<boolean> {
  const row = await db
    .selectNoFrom((eb) => [
      eb.exists(eb.selectFrom('jobs').select('id').where('status', 'in', ['pending', 'running'])).as('open_jobs'),
      eb.exists(eb.selectFrom('inbox_events').select('id').where('status', '=', 'pending')).as('pending_events'),
    ])
    .executeTakeFirstOrThrow();
  return !Number(row.open_jobs) && !Number(row.pending_events);
}
