import type { Kysely } from 'kysely';
import type { Database, ReviewItemsTable } from '../db/schema.ts';
import { unmergeCustomer, type MergeOptions, type UnmergeOutcome } from '../identity/merge.ts';
import { decideReviewItem, type ReviewDecision } from '../identity/review-store.ts';
import { movePointsOnMerge, returnPointsOnUnmerge } from '../loyalty/merge-transfer.ts';

type Db = Kysely<Database>;

/**
 * An operator decides a review item: a `link` merges the two customers and moves the merged
 * one's own points to the survivor, in one transaction.
 */
export async function decideReview(
  db: Db,
  id: string,
  decision: ReviewDecision,
  actor: string,
  now: number,
): Promise<ReviewItemsTable> {
  return db.transaction().execute(async (trx) => {
    const item = await decideReviewItem(trx, id, decision, actor, now);
    if (item.merge_id) {
      const m = await trx
        .selectFrom('merge_log')
        .select(['id', 'survivor_id', 'merged_id'])
        .where('id', '=', item.merge_id)
        .executeTakeFirstOrThrow();
      await movePointsOnMerge(trx, { merge_id: m.id, survivor_id: m.survivor_id, merged_id: m.merged_id }, actor, now);
    }
    return item;
  });
}

/** Undoes a merge: both records, their crosswalk entries, and the points the merge moved. */
export async function unmerge(
  db: Db,
  mergedId: string,
  opts: MergeOptions,
): Promise<UnmergeOutcome & { points_returned: number }> {
  return db.transaction().execute(async (trx) => {
    const out = await unmergeCustomer(trx, mergedId, opts);
    const points_returned = await returnPointsOnUnmerge(
      trx,
      {
        merge_id: out.merge_id,
        unmerge_id: out.unmerge_id,
        survivor_id: out.survivor.id,
        restored_id: out.restored.id,
      },
      opts.actor,
      opts.now,
    );
    return { ...out, points_returned };
  });
}
