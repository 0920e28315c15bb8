import type { Kysely } from 'kysely';
import { migrateToLatest, type MigrateOutcome } from '../db/migrate.ts';
import type { Database } from '../db/schema.ts';
import { rebuildIdentityKeys } from '../identity/ingest-model.ts';

/**
 * Schema migrations, then the data steps that need today's domain code (a migration never runs
 * it): the identity keys of customers that predate the identity tables.
 */
export async function migrateWithData(db: Kysely<Database>): Promise<MigrateOutcome> {
  const result = await migrateToLatest(db);
  if (result.applied.includes('0003-identity')) await rebuildIdentityKeys(db);
  return result;
}
