import type { Kysely } from 'kysely';
import { subscriberTarget } from '../canonical/fields.ts';
import { shapeEvent } from '../connectors/webhook/versions.ts';
import type { Database } from '../db/schema.ts';
import { enqueueJobs, type NewJob } from '../engine/jobs.ts';
import type { LoyaltySettings } from '../loyalty/settings.ts';
import { storeTierChanges, type TierChange } from '../loyalty/tier-store.ts';
import { identityPushJobs, idpTargets } from './identity-push.ts';

type Db = Kysely<Database>;

export interface TierOrigin {
  source: string;
  event_id?: string | null;
}

/**
 * Re-evaluates the tiers of these customers and of every current member of their households in
 * the caller's transaction, and queues the `tier.changed` webhooks and identity pushes for the
 * ones that changed, in the same transaction. Returns the changes.
 */
export async function reevaluateTiers(
  trx: Db,
  customerIds: string[],
  now: number,
  s: LoyaltySettings,
  origin: TierOrigin,
): Promise<TierChange[]> {
  const changes = await storeTierChanges(trx, customerIds, now, s);
  if (changes.length > 0)
    await enqueueJobs(trx, await tierChangeJobs(trx, changes, now, s, origin), s.max_attempts, now);
  return changes;
}

/**
 * The `tier.changed` webhooks and identity pushes for these changes. Identity pushes read the
 * claims from the database, so the caller must have written the changes before
 * (`identityPushesRead` says whether any are configured).
 */
export async function tierChangeJobs(
  db: Db,
  changes: TierChange[],
  now: number,
  s: LoyaltySettings,
  origin: TierOrigin,
): Promise<NewJob[]> {
  const jobs: NewJob[] = [];
  for (const t of s.webhook_targets.filter((w) => w.events.includes('tier.changed'))) {
    for (const c of changes) {
      const event = {
        id: `tier_${c.customer_id}_${now}.${t.name}`,
        type: 'tier.changed',
        created_at: new Date(now).toISOString(),
        data: {
          customer_id: c.customer_id,
          household_id: c.basis === 'household' ? c.basis_id : null,
          previous_tier: c.previous_tier,
          tier: c.tier,
          basis: c.basis,
          qualifying_spend: c.qualifying_spend_minor / 100,
          source: origin.source,
        },
      };
      jobs.push({
        target: subscriberTarget(t.name),
        kind: 'webhook.deliver',
        job_key: `webhook:${t.name}:${c.customer_id}`,
        payload: { target: t.name, event: shapeEvent(event, t.schema_version) },
        origin_at: now,
        event_id: origin.event_id ?? null,
        customer_id: c.customer_id,
      });
    }
  }
  if (!identityPushesRead(s)) return jobs; // no identity provider: no claims to read
  const rows = await db
    .selectFrom('customers')
    .select(['id', 'email'])
    .where(
      'id',
      'in',
      changes.map((c) => c.customer_id),
    )
    .execute();
  jobs.push(
    ...(await identityPushJobs(
      db,
      s.idp,
      s,
      rows,
      { source: 'loyalty', occurred_at: now, event_id: origin.event_id ?? null },
      now,
    )),
  );
  return jobs;
}

/** Do tier changes queue identity pushes (which read the claims, tier included, from the database)? */
export function identityPushesRead(s: LoyaltySettings): boolean {
  return idpTargets(s.idp).length > 0;
}
