import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { appendEntry, balanceOf, entryByKey, lockAccount } from './ledger-store.ts';

type Db = Kysely<Database>;

/**
 * When two customers turn out to be one person, the merged customer's own points follow them to
 * the survivor: two transfer entries (out of the merged account, into the survivor's), keyed by
 * the merge so a retried merge moves nothing twice. History stays where it was. Returns the
 * points moved. Household pools are untouched: membership is the CRM's to decide.
 */
export async function movePointsOnMerge(
  trx: Db,
  m: { merge_id: string; survivor_id: string; merged_id: string },
  actor: string,
  now: number,
): Promise<number> {
  await lockAccount(trx, m.merged_id, now);
  const points = await balanceOf(trx, m.merged_id);
  if (points === 0) return 0;
  const base = { kind: 'transfer' as const, source: 'identity', actor, occurred_at: now };
  const out = await appendEntry(
    trx,
    {
      ...base,
      account_id: m.merged_id,
      customer_id: m.merged_id,
      points: -points,
      reason: `merged into ${m.survivor_id} (${m.merge_id})`,
      idempotency_key: `merge:${m.merge_id}:out`,
    },
    now,
  );
  if (!out) return 0;
  await appendEntry(
    trx,
    {
      ...base,
      account_id: m.survivor_id,
      customer_id: m.merged_id,
      points,
      ref_entry_id: out.id,
      reason: `points of ${m.merged_id}, merged in (${m.merge_id})`,
      idempotency_key: `merge:${m.merge_id}:in`,
    },
    now,
  );
  return points;
}

/**
 * Undoing a merge returns the points it moved, as far as the survivor still holds them (they may
 * have been redeemed since: the account is never overdrawn). Returns the points moved back.
 */
export async function returnPointsOnUnmerge(
  trx: Db,
  u: { merge_id: string; unmerge_id: string; survivor_id: string; restored_id: string },
  actor: string,
  now: number,
): Promise<number> {
  const moved = await entryByKey(trx, `merge:${u.merge_id}:in`);
  if (!moved || moved.points <= 0) return 0;
  await lockAccount(trx, u.survivor_id, now);
  const points = Math.min(moved.points, Math.max(0, await balanceOf(trx, u.survivor_id)));
  if (points === 0) return 0;
  const base = { kind: 'transfer' as const, source: 'identity', actor, occurred_at: now, customer_id: u.restored_id };
  const out = await appendEntry(
    trx,
    {
      ...base,
      account_id: u.survivor_id,
      points: -points,
      reason: `unmerge of ${u.restored_id} (${u.unmerge_id})`,
      idempotency_key: `unmerge:${u.unmerge_id}:out`,
    },
    now,
  );
  if (!out) return 0;
  await appendEntry(
    trx,
    {
      ...base,
      account_id: u.restored_id,
      points,
      ref_entry_id: out.id,
      reason: `points returned on unmerge (${u.unmerge_id})`,
      idempotency_key: `unmerge:${u.unmerge_id}:in`,
    },
    now,
  );
  return points;
}
