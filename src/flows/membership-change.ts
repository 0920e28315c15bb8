import type { Kysely } from 'kysely';
import { chunks } from '../db/chunks.ts';
import type { Database, TierStateTable } from '../db/schema.ts';
import { enqueueJobs } from '../engine/jobs.ts';
import { householdMembersAt, type Membership } from '../households/membership-store.ts';
import { appendEntry, attributedBalance, balanceOf, lockAccount, spendsSince } from '../loyalty/ledger-store.ts';
import type { LoyaltySettings } from '../loyalty/settings.ts';
import { tierBasisOf, tierChangesFor, writeTierRows, type TierBasis } from '../loyalty/tier-store.ts';
import { reevaluateTiers, tierChangeJobs } from './tiers.ts';
import { splitShare } from '../loyalty/tiers.ts';

type Db = Kysely<Database>;

export interface MembershipChange {
  customer_id: string;
  closed?: Membership;
  opened?: Membership;
}

/**
 * Reacts to a membership change in the caller's transaction (the one `setMembership` ran in).
 * A member who stops pooling (opt-out, leaving, moving to another household) is split from the
 * pool per the configured policy, recorded as transfer entries — history is never rewritten and
 * from now on they earn individually. Then the tiers of the member and of everyone in the old
 * and new household are re-evaluated (and tier changes queued).
 */
export async function applyMembershipChange(
  trx: Db,
  change: MembershipChange,
  now: number,
  s: LoyaltySettings,
): Promise<void> {
  const { closed, opened } = change;
  if (closed && leavesPool(closed, opened)) await splitFromPool(trx, change.customer_id, closed, now, s);
  const affected = [change.customer_id];
  if (closed) affected.push(...(await householdMembersAt(trx, closed.household_id)).map((m) => m.customer_id));
  await reevaluateTiers(trx, affected, now, s, { source: 'membership' });
}

/**
 * `applyMembershipChange` for a batch of changes already written, with what the batch holds in
 * memory instead of reading it again: `open` is the open membership of each changed customer
 * (undefined: in none) and `members` the open members of every household a change closed or
 * opened a period in, both as they are after the batch. Splits run in the changes' order (each
 * reads the pool as the one before left it); then the tiers of the changed customers and of
 * every member of those households are re-evaluated once, with a few set statements.
 */
export async function applyMembershipChanges(
  trx: Db,
  changes: readonly MembershipChange[],
  open: ReadonlyMap<string, Membership | undefined>,
  members: ReadonlyMap<string, readonly Membership[]>,
  now: number,
  s: LoyaltySettings,
): Promise<void> {
  if (changes.length === 0) return;
  for (const c of changes)
    if (c.closed && leavesPool(c.closed, c.opened)) await splitFromPool(trx, c.customer_id, c.closed, now, s);
  const bases = tierBasesAfter(changes, open, members);
  const spend = await spendsSince(
    trx,
    [...new Set([...bases.values()].map((b) => b.basis_id))],
    now - s.tier_window_ms,
  );
  const stored = new Map<string, TierStateTable>();
  for (const part of chunks([...bases.keys()], 500))
    for (const r of await trx.selectFrom('tier_state').selectAll().where('customer_id', 'in', part).execute())
      stored.set(r.customer_id, r);
  const { changes: tiers, rows } = tierChangesFor(bases, (id) => spend.get(id) ?? 0, stored, now, s);
  await writeTierRows(trx, rows);
  if (tiers.length > 0)
    await enqueueJobs(trx, await tierChangeJobs(trx, tiers, now, s, { source: 'membership' }), s.max_attempts, now);
}

/**
 * Whose tiers a batch of changes re-evaluates, with their bases, pure: as `reevaluateTiers` for
 * each change (the customer, the members of the household they left, and every member of those
 * customers' households), taken once after the batch.
 */
export function tierBasesAfter(
  changes: readonly MembershipChange[],
  open: ReadonlyMap<string, Membership | undefined>,
  members: ReadonlyMap<string, readonly Membership[]>,
): Map<string, TierBasis> {
  const out = new Map<string, TierBasis>();
  const households = new Set<string>();
  for (const c of changes) {
    const m = open.get(c.customer_id);
    out.set(c.customer_id, tierBasisOf(m, c.customer_id));
    if (m) households.add(m.household_id);
    if (c.closed) households.add(c.closed.household_id);
  }
  for (const hh of households)
    for (const m of members.get(hh) ?? []) out.set(m.customer_id, tierBasisOf(m, m.customer_id));
  return out;
}

/** Did this change end the member's pooling in the closed household? */
export function leavesPool(closed: Membership, opened: Membership | undefined): boolean {
  if (!closed.points_aggregation_opt_in) return false;
  return !(opened && opened.household_id === closed.household_id && opened.points_aggregation_opt_in);
}

/**
 * `stays_with_household`: the pool keeps the balance; one zero transfer records the split.
 * `member_takes_share`: what the member contributed (net, capped by the pool) moves to their own
 * account as two transfer entries, under the pool's lock so a concurrent redemption cannot
 * spend it twice.
 */
async function splitFromPool(
  trx: Db,
  customerId: string,
  closed: Membership,
  now: number,
  s: LoyaltySettings,
): Promise<void> {
  const pool = closed.household_id;
  const key = `split:${customerId}:${pool}:${closed.valid_from}`;
  const base = {
    kind: 'transfer' as const,
    customer_id: customerId,
    household_id: pool,
    source: 'membership',
    actor: 'system:membership',
    occurred_at: now,
  };
  if (s.split_policy === 'stays_with_household') {
    await appendEntry(
      trx,
      {
        ...base,
        account_id: pool,
        points: 0,
        reason: 'left the pool: the balance stays with the household (policy stays_with_household)',
        idempotency_key: key,
      },
      now,
    );
    return;
  }
  await lockAccount(trx, pool, now);
  const share = splitShare(await attributedBalance(trx, pool, customerId), await balanceOf(trx, pool));
  const out = await appendEntry(
    trx,
    {
      ...base,
      account_id: pool,
      points: -share,
      reason: `left the pool: member takes their attributed share (${share} points)`,
      idempotency_key: `${key}:out`,
    },
    now,
  );
  if (!out || share === 0) return;
  await appendEntry(
    trx,
    {
      ...base,
      account_id: customerId,
      points: share,
      ref_entry_id: out.id,
      reason: `share of household ${pool} on leaving the pool`,
      idempotency_key: `${key}:in`,
    },
    now,
  );
}
