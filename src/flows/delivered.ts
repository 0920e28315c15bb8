import type { Kysely } from 'kysely';
import { type LinkSnapshotChange, mergeLinkSnapshots } from '../customers/customer-store.ts';
import type { Database } from '../db/schema.ts';
import type { Delivered } from '../engine/deliver.ts';
import { queueDeliveryReview } from '../identity/review-store.ts';

/**
 * Delivered jobs taught Hearth the records they landed on: the crosswalk keeps each with what it
 * holds, for a whole settled batch with a read and an upsert (not two statements per job). A
 * delivery the vendor refused for a person to decide queues its review item; it reads the
 * crosswalk, so the links learnt from the jobs before it in the batch are written first (the order
 * of one job after another).
 */
export async function learnLinksOnDelivery(
  trx: Kysely<Database>,
  system: string,
  delivered: readonly Delivered[],
  now: number,
): Promise<void> {
  let learnt: LinkSnapshotChange[] = [];
  for (const { job, result } of delivered) {
    if (result.review && job.customer_id) {
      await mergeLinkSnapshots(trx, system, learnt, now);
      learnt = [];
      await queueDeliveryReview(trx, { system, customer_id: job.customer_id, job_id: job.id, ...result.review }, now);
    }
    if (result.external_id && job.customer_id)
      learnt.push({
        external_id: result.external_id,
        customer_id: job.customer_id,
        fields: result.written ?? result.unchanged ?? {},
      });
  }
  await mergeLinkSnapshots(trx, system, learnt, now);
}
