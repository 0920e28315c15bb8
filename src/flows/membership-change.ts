import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { householdMembersAt, type Membership } from '../households/membership-store.ts';
import { appendEntry, attributedBalance, balanceOf, lockAccount } from '../loyalty/ledger-store.ts';
import type { LoyaltySettings } from '../loyalty/settings.ts';
import { reevaluateTiers } from './tiers.ts';
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
