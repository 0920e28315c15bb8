import type { Kysely } from 'kysely';
import type { Database, JobsTable } from '../db/schema.ts';
import { newId } from '../ids.ts';
import { fieldsOfJob, toRelease } from './shadow.ts';

type Db = Kysely<Database>;

/** Records claimed jobs as shadow writes instead of sending them: the job waits as `shadow`. */
export async function recordShadowWrites(trx: Db, jobs: readonly JobsTable[], now: number): Promise<void> {
  if (jobs.length === 0) return;
  await trx
    .insertInto('shadow_writes')
    .values(
      jobs.map((j) => ({
        id: newId('shw', now),
        job_id: j.id,
        target: j.target,
        kind: j.kind,
        job_key: j.job_key,
        customer_id: j.customer_id,
        payload: j.payload,
        fields: JSON.stringify(fieldsOfJob(j.kind, JSON.parse(j.payload))),
        status: 'shadowed' as const,
        created_at: now,
        updated_at: now,
      })),
    )
    .execute();
  await trx
    .updateTable('jobs')
    .set({ status: 'shadow', locked_by: null, locked_until: null, updated_at: now })
    .where(
      'id',
      'in',
      jobs.map((j) => j.id),
    )
    .where('status', '=', 'running')
    .execute();
}

/** The writes held in shadow for a connector (all connectors when null), oldest first. */
export async function heldShadowWrites(db: Db, connector: string | null) {
  let q = db
    .selectFrom('shadow_writes')
    .select(['id', 'job_id', 'target', 'kind', 'job_key', 'customer_id', 'payload', 'fields', 'created_at'])
    .where('status', '=', 'shadowed')
    .orderBy('id');
  if (connector) q = q.where((eb) => eb.or([eb('target', '=', connector), eb('target', 'like', `${connector}:%`)]));
  return q.execute();
}

/**
 * Shadow turned off for a connector (or one of its flows): of its held jobs whose kind is no longer
 * shadowed, the newest per kind and key goes out if it differs from what was last delivered for
 * that key; every other such held job is superseded.
 */
export async function releaseShadow(
  trx: Db,
  connector: string,
  now: number,
  stillShadowed: (kind: string) => boolean = () => false,
): Promise<{ sent: number; dropped: number }> {
  const held = (
    await trx
      .selectFrom('jobs')
      .select(['id', 'job_key', 'kind', 'payload'])
      .where('status', '=', 'shadow')
      .where((eb) => eb.or([eb('target', '=', connector), eb('target', 'like', `${connector}:%`)]))
      .execute()
  ).filter((h) => !stillShadowed(h.kind));
  if (held.length === 0) return { sent: 0, dropped: 0 };
  const keys = [...new Set(held.map((h) => h.job_key))];
  const lastDelivered = new Map<string, string>();
  for (let i = 0; i < keys.length; i += 200) {
    const done = await trx
      .selectFrom('jobs')
      .select(['kind', 'job_key', 'payload'])
      .where('status', '=', 'done')
      .where('job_key', 'in', keys.slice(i, i + 200))
      .orderBy('id')
      .execute();
    for (const d of done) lastDelivered.set(`${d.kind}\u0000${d.job_key}`, d.payload);
  }
  const send = toRelease(held, lastDelivered);
  const sendIds = held.filter((h) => send.has(h.id)).map((h) => h.id);
  const dropIds = held.filter((h) => !send.has(h.id)).map((h) => h.id);
  for (let i = 0; i < sendIds.length; i += 200) {
    const part = sendIds.slice(i, i + 200);
    await trx
      .updateTable('jobs')
      .set({ status: 'pending', run_at: now, updated_at: now })
      .where('id', 'in', part)
      .execute();
    await trx
      .updateTable('shadow_writes')
      .set({ status: 'released', updated_at: now })
      .where('job_id', 'in', part)
      .execute();
  }
  for (let i = 0; i < dropIds.length; i += 200) {
    const part = dropIds.slice(i, i + 200);
    await trx.updateTable('jobs').set({ status: 'superseded', updated_at: now }).where('id', 'in', part).execute();
    await trx
      .updateTable('shadow_writes')
      .set({ status: 'dropped', updated_at: now })
      .where('job_id', 'in', part)
      .execute();
  }
  return { sent: sendIds.length, dropped: dropIds.length };
}
