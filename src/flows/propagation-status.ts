import type { Kysely } from 'kysely';
import { PROFILE_PROJECT } from '../canonical/types.ts';
import type { Database } from '../db/schema.ts';

/** Where a customer's latest change stands in one system. */
export interface SystemStatus {
  system: string;
  /**
   * confirmed: the latest job for the customer is done there; pending: queued or retrying; dead:
   * gave up; review: the system refused the write for a reason a person decides (a Zendesk
   * `DuplicateValue`) and its review item waits; no_record: the system holds no record of the
   * customer, so nothing was written (Hearth never creates Stripe customers).
   */
  state: 'confirmed' | 'pending' | 'dead' | 'review' | 'no_record';
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
  const refused = await refusedSystems(db, customerId);
  const linked = await linkedSystems(db, customerId);
  const doneState = (j: (typeof jobs)[number]): SystemStatus['state'] => {
    if (refused.has(j.target)) return 'review';
    // A projection that found no record there wrote nothing: not a confirmation.
    if (j.kind === PROFILE_PROJECT && !linked.has(j.target)) return 'no_record';
    return 'confirmed';
  };
  return [...latest.values()]
    .map((j) => ({
      system: j.target,
      state: j.status === 'done' ? doneState(j) : j.status === 'dead' ? ('dead' as const) : ('pending' as const),
      kind: j.kind,
      job_id: j.id,
      attempts: j.attempts,
      last_error: j.last_error,
      origin_at: j.origin_at,
      done_at: j.done_at,
    }))
    .sort((a, b) => a.system.localeCompare(b.system));
}

/** Systems with a pending review item about a write they refused for this customer. */
async function refusedSystems(db: Kysely<Database>, customerId: string): Promise<Set<string>> {
  const rows = await db
    .selectFrom('review_items')
    .select(['source_system', 'customer_ids', 'explanation'])
    .where('status', '=', 'pending')
    .where('kind', 'in', ['match', 'system_duplicate'])
    .where('source_system', 'is not', null)
    .where('customer_ids', 'like', `%"${customerId}"%`)
    .execute();
  // A `match` item from ingest names a source too: only those raised by a refused write (a job) count.
  const byWrite = (r: (typeof rows)[number]) =>
    (JSON.parse(r.customer_ids) as string[]).includes(customerId) &&
    Boolean((JSON.parse(r.explanation ?? '{}') as { job_id?: string }).job_id);
  return new Set(rows.filter(byWrite).map((r) => r.source_system!));
}

async function linkedSystems(db: Kysely<Database>, customerId: string): Promise<Set<string>> {
  const rows = await db.selectFrom('source_links').select('system').where('customer_id', '=', customerId).execute();
  return new Set(rows.map((r) => r.system));
}
