import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';

/** Where a customer's latest change stands in one system. */
export interface SystemStatus {
  system: string;
  /** confirmed: the latest job for the customer is done there; pending: queued or retrying; dead: gave up. */
  state: 'confirmed' | 'pending' | 'dead';
  kind: string;
  job_id: string;
  attempts: number;
  last_error: string | null;
  origin_at: number;
  done_at: number | null;
}

/**
 * Per system (job target), the state of the latest job that carries this customer's values:
 * "where is this customer out of date right now" is every system not `confirmed`.
 */
export async function propagationStatus(db: Kysely<Database>, customerId: string): Promise<SystemStatus[]> {
  const jobs = await db
    .selectFrom('jobs')
    .select(['id', 'target', 'kind', 'status', 'attempts', 'last_error', 'origin_at', 'done_at', 'created_at'])
    .where('customer_id', '=', customerId)
    .where('status', '!=', 'superseded')
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  const latest = new Map<string, (typeof jobs)[number]>();
  for (const j of jobs) if (!latest.has(j.target)) latest.set(j.target, j);
  return [...latest.values()]
    .map((j) => ({
      system: j.target,
      state:
        j.status === 'done' ? ('confirmed' as const) : j.status === 'dead' ? ('dead' as const) : ('pending' as const),
      kind: j.kind,
      job_id: j.id,
      attempts: j.attempts,
      last_error: j.last_error,
      origin_at: j.origin_at,
      done_at: j.done_at,
    }))
    .sort((a, b) => a.system.localeCompare(b.system));
}
