import type { Kysely } from 'kysely';
import type { Database, ReviewItemsTable, ReviewKind, ReviewStatus } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { newId } from '../ids.ts';
import { inTransaction, mergeCustomers, survivorId } from './merge.ts';

type Db = Kysely<Database>;

type NewReview = Pick<
  ReviewItemsTable,
  'kind' | 'subject_key' | 'customer_ids' | 'score' | 'explanation' | 'source_system' | 'event_id'
> & { model_version?: number | null };

/** Inserts a pending item unless one of its kind and subject exists (pending or decided). */
async function queueOnce(db: Db, item: NewReview, now: number): Promise<void> {
  await queueAllOnce(db, [item], now);
}

/** queueOnce for many items, one INSERT per 200 (a statement's parameters stay under SQLite's limit). */
async function queueAllOnce(db: Db, items: NewReview[], now: number): Promise<void> {
  for (let i = 0; i < items.length; i += 200)
    await db
      .insertInto('review_items')
      .values(
        items.slice(i, i + 200).map((item) => ({
          ...item,
          id: newId('rev', now),
          status: 'pending' as const,
          merge_id: null,
          decided_by: null,
          decided_at: null,
          created_at: now,
          updated_at: now,
        })),
      )
      .onConflict((oc) => oc.columns(['kind', 'subject_key']).doNothing())
      .execute();
}

export interface MatchReviewInput {
  /** The customer the record resembles (the survivor if linked). */
  existing: string;
  /** The customer the new record got. */
  incoming: string;
  score: number;
  explanation: unknown;
  source_system: string;
  event_id: string | null;
  /** The identity model version that scored the pair (null or absent: the built-in defaults). */
  model_version?: number | null;
}

/** Queues a pair once: a pair already queued (or decided) is not queued again. */
export async function queueMatchReview(db: Db, input: MatchReviewInput, now: number): Promise<void> {
  await queueMatchReviews(db, [input], now);
}

/**
 * Queues pairs as queueMatchReview does, in one INSERT per 200 (ON CONFLICT DO NOTHING keeps the
 * first of a pair, whether queued before or earlier in the same statement): a batch at ingest
 * raised one review per event, each its own round trip.
 */
export async function queueMatchReviews(db: Db, inputs: MatchReviewInput[], now: number): Promise<void> {
  const items = inputs.map(
    (input): NewReview => ({
      kind: 'match',
      subject_key: [input.existing, input.incoming].sort().join('|'),
      customer_ids: JSON.stringify([input.existing, input.incoming]),
      score: input.score,
      explanation: JSON.stringify(input.explanation),
      source_system: input.source_system,
      event_id: input.event_id,
      model_version: input.model_version ?? null,
    }),
  );
  await queueAllOnce(db, items, now);
}

/**
 * Queues (or refreshes, while still pending) a household suggestion for a subject such as
 * `address key | family name`. A decided suggestion is never raised again for that subject.
 */
export async function queueHouseholdSuggestion(
  db: Db,
  subject: string,
  customerIds: string[],
  evidence: unknown,
  now: number,
): Promise<void> {
  const ids = JSON.stringify(customerIds);
  const found = await db
    .selectFrom('review_items')
    .select(['id', 'status', 'customer_ids'])
    .where('kind', '=', 'household_suggestion')
    .where('subject_key', '=', subject)
    .executeTakeFirst();
  if (found) {
    if (found.status === 'pending' && found.customer_ids !== ids) {
      await db
        .updateTable('review_items')
        .set({ customer_ids: ids, explanation: JSON.stringify(evidence), updated_at: now })
        .where('id', '=', found.id)
        .execute();
    }
    return;
  }
  await queueOnce(
    db,
    {
      kind: 'household_suggestion',
      subject_key: subject,
      customer_ids: ids,
      score: null,
      explanation: JSON.stringify(evidence),
      source_system: null,
      event_id: null,
    },
    now,
  );
}

/**
 * Quarantines a checkout address that failed plausibility: one item per event, holding the
 * address and the reason. The address was not written anywhere; deciding the item closes it.
 */
export async function queueAddressQuarantine(
  db: Db,
  input: { customer_id: string; evidence: unknown; source_system: string; event_id: string },
  now: number,
): Promise<void> {
  await queueOnce(
    db,
    {
      kind: 'address_quarantine',
      subject_key: input.event_id,
      customer_ids: JSON.stringify([input.customer_id]),
      score: null,
      explanation: JSON.stringify(input.evidence),
      source_system: input.source_system,
      event_id: input.event_id,
    },
    now,
  );
}

export interface DeliveryReviewInput {
  system: string;
  /** The customer the refused write was for. */
  customer_id: string;
  job_id: string;
  reason: string;
  /** The system's record that holds the value, when known. */
  holder_external_id: string | null;
  message: string;
}

/**
 * A connected system refused a customer's write because another of its records holds the e-mail
 * (Zendesk `DuplicateValue`). If that record is another Hearth customer, the pair is an identity
 * question (a `match` item: link merges them); otherwise the record is unknown to Hearth and the
 * item (`system_duplicate`) names it for a person to resolve in that system. Queued once per
 * record and customer, so the next refused write does not raise it again.
 */
export async function queueDeliveryReview(db: Db, input: DeliveryReviewInput, now: number): Promise<void> {
  const customer = (await survivorId(db, input.customer_id)) ?? input.customer_id;
  const link = input.holder_external_id
    ? await db
        .selectFrom('source_links')
        .select('customer_id')
        .where('system', '=', input.system)
        .where('external_id', '=', input.holder_external_id)
        .executeTakeFirst()
    : undefined;
  const other = link ? await survivorId(db, link.customer_id) : undefined;
  const pair = other !== undefined && other !== customer;
  const explanation = {
    reason: input.reason,
    system: input.system,
    holder_external_id: input.holder_external_id,
    message: input.message,
    job_id: input.job_id,
  };
  await queueOnce(
    db,
    {
      kind: pair ? 'match' : 'system_duplicate',
      subject_key: pair
        ? [other, customer].sort().join('|')
        : `${input.system}:${input.holder_external_id ?? '?'}|${customer}`,
      customer_ids: JSON.stringify(pair ? [other, customer] : [customer]),
      score: null,
      explanation: JSON.stringify(explanation),
      source_system: input.system,
      event_id: null,
    },
    now,
  );
}

export interface ReviewQuery {
  kind?: ReviewKind | undefined;
  status?: ReviewStatus | undefined;
  after?: string | undefined;
  limit: number;
}

export async function listReviewItems(db: Db, q: ReviewQuery): Promise<ReviewItemsTable[]> {
  let query = db
    .selectFrom('review_items')
    .selectAll()
    .where('status', '=', q.status ?? 'pending')
    .orderBy('id')
    .limit(q.limit);
  if (q.kind) query = query.where('kind', '=', q.kind);
  if (q.after) query = query.where('id', '>', q.after);
  return query.execute();
}

export async function getReviewItem(db: Db, id: string): Promise<ReviewItemsTable | undefined> {
  return db.selectFrom('review_items').selectAll().where('id', '=', id).executeTakeFirst();
}

export type ReviewDecision = 'link' | 'not_a_match';

/**
 * Decides a pending item, in one transaction. `link` on a match merges the incoming customer
 * into the existing one; on a household suggestion it records the operator's agreement (the CRM
 * stays the authority for households: nothing is imposed). `not_a_match` closes the item; the
 * pair is not queued again. Deciding twice is a conflict.
 */
export async function decideReviewItem(
  db: Db,
  id: string,
  decision: ReviewDecision,
  actor: string,
  now: number,
): Promise<ReviewItemsTable> {
  return inTransaction(db, async (trx) => {
    const item = await getReviewItem(trx, id);
    if (!item) throw new HearthError('not_found', `review item ${id} not found`);
    if (item.status !== 'pending')
      throw new HearthError('conflict', `review item ${id} was already decided (${item.status})`);
    let mergeId: string | null = null;
    if (decision === 'link' && item.kind === 'match') {
      const [existing, incoming] = JSON.parse(item.customer_ids) as [string, string];
      // Either may have been merged elsewhere since: merge the survivors, unless they are one already.
      const [a, b] = [await survivorId(trx, existing), await survivorId(trx, incoming)];
      if (!a || !b) throw new HearthError('conflict', `a customer of review item ${id} no longer exists`);
      if (a !== b) mergeId = (await mergeCustomers(trx, a, b, { actor, reviewId: id, now })).merge_id;
    }
    const status: ReviewStatus = decision === 'link' ? 'linked' : 'not_a_match';
    const res = await trx
      .updateTable('review_items')
      .set({ status, merge_id: mergeId, decided_by: actor, decided_at: now, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) throw new HearthError('conflict', `review item ${id} was already decided`);
    return (await getReviewItem(trx, id))!;
  });
}
