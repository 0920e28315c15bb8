import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';

type Db = Kysely<Database>;

/** How long a write of ours is remembered for recognising its echo. */
export const ECHO_TTL_MS = 24 * 60 * 60 * 1000;

/** Vendors trim and re-case values they store; compare what survives that. */
export function fingerprint(property: string, value: string | null): string {
  const v = (value ?? '').trim().replace(/\s+/g, ' ').toLowerCase();
  return createHash('sha256').update(`${property}\u0000${v}`).digest('hex').slice(0, 32);
}

/** Remembers the vendor property values a delivered job wrote to one record. */
export async function rememberWrites(
  db: Db,
  system: string,
  externalId: string,
  written: Record<string, string | null>,
  jobId: string,
  now: number,
): Promise<void> {
  const rows = Object.entries(written).map(([prop, value]) => ({
    system,
    external_id: externalId,
    fingerprint: fingerprint(prop, value),
    job_id: jobId,
    created_at: now,
  }));
  if (rows.length > 0) await db.insertInto('echo_fingerprints').values(rows).execute();
}

export async function pruneEchoes(db: Db, now: number): Promise<number> {
  const res = await db
    .deleteFrom('echo_fingerprints')
    .where('created_at', '<', now - ECHO_TTL_MS)
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}
