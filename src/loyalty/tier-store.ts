import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { householdMembersAt, membershipAt } from '../households/membership-store.ts';
import { identityPushJobs } from '../sync/identity-push.ts';
import { enqueueJobs, type NewJob } from '../sync/jobs.ts';
import { spendSince } from './ledger-store.ts';
import { activeLoyaltySettings, type LoyaltySettings } from './settings.ts';
import { tierFor } from './tiers.ts';

type Db = Kysely<Database>;

/** Whose spend sets a customer's tier: the household pool for opted-in members, else their own. */
export interface TierBasis {
  basis: 'household' | 'individual';
  basis_id: string;
}

export async function tierBasis(db: Db, customerId: string, at?: number): Promise<TierBasis> {
  const m = await membershipAt(db, customerId, at);
  return m?.points_aggregation_opt_in ? { basis: 'household', basis_id: m.household_id } : { basis: 'individual', basis_id: customerId };
}

/** Qualifying spend of an account over the rolling window ending at `now`. */
export async function windowSpend(db: Db, accountId: string, now: number, s: LoyaltySettings): Promise<number> {
  return spendSince(db, accountId, now - s.tier_window_ms);
}

/**
 * The household's tier for opted-in members, else the individual's; null for an unknown
 * customer (or when no tier's minimum is reached). Computed from the ledger at `now`.
 */
export async function tierOf(db: Db, customerId: string, now: number, s: LoyaltySettings = activeLoyaltySettings()): Promise<string | null> {
  const known = await db.selectFrom('customers').select('id').where('id', '=', customerId).executeTakeFirst();
  if (!known) return null;
  const b = await tierBasis(db, customerId);
  return tierFor(await windowSpend(db, b.basis_id, now, s), s.tiers);
}

export async function householdTier(db: Db, householdId: string, now: number, s: LoyaltySettings = activeLoyaltySettings()): Promise<string | null> {
  return tierFor(await windowSpend(db, householdId, now, s), s.tiers);
}

export interface TierChange {
  customer_id: string;
  previous_tier: string | null;
  tier: string | null;
  basis: TierBasis['basis'];
  basis_id: string;
  qualifying_spend_minor: number;
}

export interface TierOrigin {
  source: string;
  event_id?: string | null;
}

/**
 * Re-evaluates the tiers of these customers and of every current member of their households,
 * in the caller's transaction; stores them and queues the `tier.changed` webhooks and identity
 * pushes for those that changed. Returns the changes.
 */
export async function reevaluateTiers(trx: Db, customerIds: string[], now: number, s: LoyaltySettings, origin: TierOrigin): Promise<TierChange[]> {
  const everyone = await withHouseholdMembers(trx, customerIds);
  const spendCache = new Map<string, number>();
  const changes: TierChange[] = [];
  for (const id of everyone) {
    const b = await tierBasis(trx, id);
    if (!spendCache.has(b.basis_id)) spendCache.set(b.basis_id, await windowSpend(trx, b.basis_id, now, s));
    const spend = spendCache.get(b.basis_id)!;
    const tier = tierFor(spend, s.tiers);
    const prev = await trx.selectFrom('tier_state').select('tier').where('customer_id', '=', id).executeTakeFirst();
    const row = { customer_id: id, tier, basis: b.basis, basis_id: b.basis_id, qualifying_spend_minor: spend, updated_at: now };
    await trx.insertInto('tier_state').values(row)
      .onConflict((oc) => oc.column('customer_id').doUpdateSet({ tier, basis: b.basis, basis_id: b.basis_id, qualifying_spend_minor: spend, updated_at: now })).execute();
    const previous = prev ? prev.tier : null;
    if (previous !== tier) changes.push({ customer_id: id, previous_tier: previous, tier, ...b, qualifying_spend_minor: spend });
  }
  if (changes.length > 0) await enqueueJobs(trx, await tierChangeJobs(trx, changes, now, s, origin), s.max_attempts, now);
  return changes;
}

async function withHouseholdMembers(db: Db, customerIds: string[]): Promise<string[]> {
  const out = new Set(customerIds);
  for (const id of customerIds) {
    const m = await membershipAt(db, id);
    if (m) for (const member of await householdMembersAt(db, m.household_id)) out.add(member.customer_id);
  }
  return [...out].sort();
}

async function tierChangeJobs(db: Db, changes: TierChange[], now: number, s: LoyaltySettings, origin: TierOrigin): Promise<NewJob[]> {
  const jobs: NewJob[] = [];
  for (const t of s.webhook_targets.filter((w) => w.events.includes('tier.changed'))) {
    for (const c of changes) {
      const event = {
        id: `tier_${c.customer_id}_${now}.${t.name}`,
        type: 'tier.changed',
        created_at: new Date(now).toISOString(),
        data: { customer_id: c.customer_id, household_id: c.basis === 'household' ? c.basis_id : null, previous_tier: c.previous_tier, tier: c.tier, basis: c.basis, qualifying_spend: c.qualifying_spend_minor / 100, source: origin.source },
      };
      jobs.push({ target: `webhook:${t.name}`, kind: 'webhook.deliver', job_key: `webhook:${t.name}:${c.customer_id}`, payload: { target: t.name, event }, origin_at: now, event_id: origin.event_id ?? null, customer_id: c.customer_id });
    }
  }
  const emails = await db.selectFrom('customers').select(['id', 'email']).where('id', 'in', changes.map((c) => c.customer_id)).execute();
  jobs.push(...await identityPushJobs(db, s.idp, emails, { source: 'loyalty', occurred_at: now, event_id: origin.event_id ?? null }, now));
  return jobs;
}
