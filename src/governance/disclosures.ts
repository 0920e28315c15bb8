import type { Kysely } from 'kysely';
import { IDP_PUSH_KIND } from '../canonical/identity-claims.ts';
import { chunks } from '../db/chunks.ts';
import type { Database, FieldDisclosuresTable, JobsTable } from '../db/schema.ts';
import { PERSON_FIELDS } from './minimise.ts';

type Db = Kysely<Database>;

const CLAIMS = ['household_id', 'hierarchy_role', 'tier', 'points_aggregation_opt_in'] as const;

const present = (o: unknown, fields: readonly string[]): string[] => {
  if (!o || typeof o !== 'object') return [];
  const r = o as Record<string, unknown>;
  return fields.filter((f) => r[f] !== null && r[f] !== undefined && r[f] !== '');
};

/**
 * The fields one job carries to its system, by name (never values): the person fields with a
 * value (after data minimisation blanked what the system may not receive), the fields of a CRM
 * field write, and an identity provider's household claims. Pure.
 */
export function fieldsCarried(kind: string, payload: unknown): string[] {
  const p = (payload ?? {}) as Record<string, unknown>;
  switch (kind) {
    case 'crm.fields_write':
      return Object.entries((p.fields ?? {}) as Record<string, unknown>)
        .filter(([, v]) => v !== null && v !== undefined)
        .map(([k]) => k)
        .sort();
    case 'webhook.deliver': {
      const data = ((p.event ?? {}) as { data?: Record<string, unknown> }).data ?? {};
      const out = present(data.customer, PERSON_FIELDS);
      if (data.previous_address && !out.includes('address')) out.push('address');
      return out;
    }
    case IDP_PUSH_KIND:
      return [...present(p, ['email']), ...present(p.claims, CLAIMS)];
    default:
      return present(p, PERSON_FIELDS);
  }
}

/**
 * Records, in the settling transaction of a delivered batch, which fields each job carried where
 * (the audit of data minimisation: `GET /v1/disclosures`), with one insert per 200 jobs. A job that
 * carried no such field is not recorded.
 */
export async function recordDisclosures(
  trx: Db,
  system: string,
  jobs: readonly JobsTable[],
  now: number,
): Promise<void> {
  const rows = jobs.flatMap((job) => {
    let payload: unknown;
    try {
      payload = JSON.parse(job.payload);
    } catch {
      return [];
    }
    const fields = fieldsCarried(job.kind, payload);
    if (fields.length === 0) return [];
    return [
      {
        job_id: job.id,
        customer_id: job.customer_id ?? null,
        system,
        target: job.target,
        kind: job.kind,
        fields: JSON.stringify(fields),
        delivered_at: now,
      },
    ];
  });
  for (const part of chunks(rows, 200))
    await trx
      .insertInto('field_disclosures')
      .values(part)
      .onConflict((oc) => oc.column('job_id').doNothing())
      .execute();
}

/** The engine's delivered-batch hook with the disclosures recorded after it (same transaction). */
export function withDisclosures<D extends { job: JobsTable }>(
  inner: (trx: Db, system: string, delivered: readonly D[], now: number) => Promise<void>,
): (trx: Db, system: string, delivered: readonly D[], now: number) => Promise<void> {
  return async (trx, system, delivered, now) => {
    await inner(trx, system, delivered, now);
    await recordDisclosures(
      trx,
      system,
      delivered.map((d) => d.job),
      now,
    );
  };
}

export interface Disclosure {
  job_id: string;
  customer_id: string | null;
  system: string;
  target: string;
  kind: string;
  fields: string[];
  delivered_at: number;
}

/** Disclosures, newest first (by job id), for one customer and/or one system. */
export async function listDisclosures(
  db: Db,
  q: { customer_id?: string | undefined; system?: string | undefined; limit: number; after?: string | undefined },
): Promise<Disclosure[]> {
  let sel = db.selectFrom('field_disclosures').selectAll().orderBy('job_id', 'desc').limit(q.limit);
  if (q.customer_id) sel = sel.where('customer_id', '=', q.customer_id);
  if (q.system) sel = sel.where('system', '=', q.system);
  if (q.after) sel = sel.where('job_id', '<', q.after);
  return (await sel.execute()).map((r: FieldDisclosuresTable) => ({
    ...r,
    fields: JSON.parse(r.fields) as string[],
    delivered_at: Number(r.delivered_at),
  }));
}
