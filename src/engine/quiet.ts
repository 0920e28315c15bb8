import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';

/** Nothing left to do: every inbox event applied and no job pending or running. */
export async function isQuiet(db: Kysely<Database>): Promise<boolean> {
  const open = await db
    .selectFrom('jobs')
    .select('id')
    .where('status', 'in', ['pending', 'running'])
    .limit(1)
    .execute();
  if (open.length > 0) return false;
  const inbox = await db.selectFrom('inbox_events').select('id').where('status', '=', 'pending').limit(1).execute();
  return inbox.length === 0;
}
