import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { chunks } from '../db/chunks.ts';
import type { Database } from '../db/schema.ts';

type Db = Kysely<Database>;

/** How long a write of ours is remembered for recognising its echo. */
export const ECHO_TTL_MS = 24 * 60 * 60 * 1000;

/** Vendors trim and re-case values they store; compare what survives that. */
export function fingerprint(property: string, value: string | null): string {
  const v = (value ?? '').trim().replace(/\s+/g, ' ').toLowerCase();
  return createHash('sha256').update(`${property}\u0000${v}`).digest('hex').slice(0, 32);
}

/** The vendor property values one job wrote (or is about to write) to one record. */
export interface WrittenValues {
  external_id: string;
  written: Record<string, string | null>;
  job_id: string;
}

/** Rows per multi-row insert (5 columns each: well under both dialects' parameter limits). */
const ROWS_PER_INSERT = 500;

/** Remembers the vendor property values a batch of jobs wrote, with one insert per 500 values. */
export async function rememberWrites(db: Db, system: string, writes: WrittenValues[], now: number): Promise<void> {
  const rows = writes.flatMap((w) =>
    Object.entries(w.written).map(([prop, value]) => ({
      system,
      external_id: w.external_id,
      fingerprint: fingerprint(prop, value),
      job_id: w.job_id,
      created_at: now,
    })),
  );
  for (const part of chunks(rows, ROWS_PER_INSERT)) await db.insertInto('echo_fingerprints').values(part).execute();
}

export async function pruneEchoes(db: Db, now: number): Promise<number> {
  const res = await db
    .deleteFrom('echo_fingerprints')
    .where('created_at', '<', now - ECHO_TTL_MS)
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}
