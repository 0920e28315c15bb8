import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { newId } from '../ids.ts';

type Db = Kysely<Database>;

/**
 * The reconciliation run that holds findings raised at ingress (a change refused by the ownership
 * policy), so they sit in `GET /v1/reconcile/findings` beside the pulled ones. Its id sorts before
 * every real run and it is `done`: it never runs, resumes, or counts as the latest run.
 */
export const INGRESS_RUN_ID = 'run_00000000000000000000000000';

/** One field a system tried to change and may not (it does not own the field). */
export interface OwnershipFinding {
  system: string;
  external_id: string;
  customer_id: string;
  field: string;
  canonical_value: string | null;
  system_value: string | null;
  /** The policy's reason (`zendesk may not set billing_status`). */
  reason: string;
  event_id: string;
}

async function ensureIngressRun(db: Db, now: number): Promise<void> {
  await db
    .insertInto('reconcile_runs')
    .values({
      id: INGRESS_RUN_ID,
      status: 'done',
      trigger: 'ingress',
      actor: 'ownership-policy',
      systems: '[]',
      system: null,
      cursor: null,
      pages: 0,
      records: 0,
      matched: 0,
      unmatched: 0,
      findings: 0,
      jobs: 0,
      stats: '{}',
      error: null,
      started_at: now,
      updated_at: now,
      finished_at: now,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

/**
 * Records a refused change as an open drift finding (policy `review`): never applied, never
 * dropped. One open finding per system record and field: a repeat refreshes its values.
 */
export async function recordOwnershipFinding(db: Db, f: OwnershipFinding, now: number): Promise<void> {
  if (f.canonical_value === f.system_value) return;
  await ensureIngressRun(db, now);
  const detail = JSON.stringify({ origin: 'ingress', reason: f.reason, event_id: f.event_id });
  const open = await db
    .selectFrom('drift_findings')
    .select('id')
    .where('run_id', '=', INGRESS_RUN_ID)
    .where('system', '=', f.system)
    .where('external_id', '=', f.external_id)
    .where('field', '=', f.field)
    .where('status', '=', 'open')
    .executeTakeFirst();
  if (open) {
    await db
      .updateTable('drift_findings')
      .set({
        customer_id: f.customer_id,
        canonical_value: f.canonical_value,
        system_value: f.system_value,
        detail,
        updated_at: now,
      })
      .where('id', '=', open.id)
      .execute();
    return;
  }
  await db
    .insertInto('drift_findings')
    .values({
      id: newId('drf', now),
      run_id: INGRESS_RUN_ID,
      system: f.system,
      external_id: f.external_id,
      customer_id: f.customer_id,
      field: f.field,
      kind: 'drift',
      policy: 'review',
      status: 'open',
      canonical_value: f.canonical_value,
      system_value: f.system_value,
      detail,
      job_id: null,
      decided_by: null,
      decided_at: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  await db
    .updateTable('reconcile_runs')
    .set((eb) => ({ findings: eb('findings', '+', 1), updated_at: now }))
    .where('id', '=', INGRESS_RUN_ID)
    .execute();
}
