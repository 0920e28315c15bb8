import type { Kysely } from 'kysely';
import type { Database, TierStateTable } from '../db/schema.ts';
import { householdMembersAt, membershipAt, type Membership } from '../households/membership-store.ts';
import { spendSince } from './ledger-store.ts';
import type { LoyaltySettings } from './settings.ts';
import { tierFor } from './tiers.ts';

type Db = Kysely<Database>;

/** Whose spend sets a customer's tier: the household pool for opted-in members, else their own. */
export interface TierBasis {
  basis: 'household' | 'individual';
  basis_id: string;
}

export async function tierBasis(db: Db, customerId: string, at?: number): Promise<TierBasis> {
  return tierBasisOf(await membershipAt(db, customerId, at), customerId);
}

/** The tier basis under a membership (undefined: in no household). */
export function tierBasisOf(m: Membership | undefined, customerId: string): TierBasis {
  return m?.points_aggregation_opt_in
    ? { basis: 'household', basis_id: m.household_id }
    : { basis: 'individual', basis_id: customerId };
}

/** Qualifying spend of an account over the rolling window ending at `now`. */
export async function windowSpend(db: Db, accountId: string, now: number, s: LoyaltySettings): Promise<number> {
  return spendSince(db, accountId, now - s.tier_window_ms);
}

/**
 * The household's tier for opted-in members, else the individual's; null for an unknown
 * customer (or when no tier's minimum is reached). Computed from the ledger at `now`.
 */
export async function tierOf(db: Db, customerId: string, now: number, s: LoyaltySettings): Promise<string | null> {
  const known = await db.selectFrom('customers').select('id').where('id', '=', customerId).executeTakeFirst();
  if (!known) return null;
  const b = await tierBasis(db, customerId);
  return tierFor(await windowSpend(db, b.basis_id, now, s), s.tiers);
}

export async function householdTier(
  db: Db,
  householdId: string,
  now: number,
  s: LoyaltySettings,
): Promise<string | null> {
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

/**
 * Re-evaluates the tiers of these customers and of every current member of their households, in
 * the caller's transaction, and stores the ones that changed; returns the changes (what follows a
 * change, webhooks and identity pushes, is `flows/tiers.ts`). A few set queries whatever the
 * household size: memberships, one spend sum per basis, the stored tiers.
 */
export async function storeTierChanges(
  trx: Db,
  customerIds: string[],
  now: number,
  s: LoyaltySettings,
): Promise<TierChange[]> {
  const bases = await basesWithHouseholds(trx, customerIds);
  const spend = new Map<string, number>();
  for (const b of bases.values())
    if (!spend.has(b.basis_id)) spend.set(b.basis_id, await windowSpend(trx, b.basis_id, now, s));
  const stored = new Map(
    (
      await trx
        .selectFrom('tier_state')
        .selectAll()
        .where('customer_id', 'in', [...bases.keys()])
        .execute()
    ).map((r) => [r.customer_id, r]),
  );
  const { changes, rows } = tierChangesFor(bases, (id) => spend.get(id)!, stored, now, s);
  await writeTierRows(trx, rows);
  return changes;
}

/**
 * The tiers of these customers (with their bases) against the stored ones: the rows to store
 * (tier, basis or basis id differ) and the changes of tier among them, by customer id.
 */
export function tierChangesFor(
  bases: ReadonlyMap<string, TierBasis>,
  spendOf: (basisId: string) => number,
  stored: ReadonlyMap<string, TierStateTable>,
  now: number,
  s: LoyaltySettings,
): { changes: TierChange[]; rows: TierStateTable[] } {
  const changes: TierChange[] = [];
  const rows: TierStateTable[] = [];
  for (const [id, b] of [...bases].sort(([a], [c]) => (a < c ? -1 : 1))) {
    const qualifying = spendOf(b.basis_id);
    const tier = tierFor(qualifying, s.tiers);
    const prev = stored.get(id);
    if (prev && prev.tier === tier && prev.basis === b.basis && prev.basis_id === b.basis_id) continue;
    rows.push({
      customer_id: id,
      tier,
      basis: b.basis,
      basis_id: b.basis_id,
      qualifying_spend_minor: qualifying,
      updated_at: now,
    });
    if ((prev?.tier ?? null) !== tier)
      changes.push({
        customer_id: id,
        previous_tier: prev?.tier ?? null,
        tier,
        ...b,
        qualifying_spend_minor: qualifying,
      });
  }
  return { changes, rows };
}

/** Stores tier rows (upserts, 200 a statement); a customer given twice keeps the last row. */
export async function writeTierRows(trx: Db, rows: readonly TierStateTable[]): Promise<void> {
  const last = [...new Map(rows.map((r) => [r.customer_id, r])).values()];
  for (let i = 0; i < last.length; i += 200)
    await trx
      .insertInto('tier_state')
      .values(last.slice(i, i + 200))
      .onConflict((oc) =>
        oc.column('customer_id').doUpdateSet((eb) => ({
          tier: eb.ref('excluded.tier'),
          basis: eb.ref('excluded.basis'),
          basis_id: eb.ref('excluded.basis_id'),
          qualifying_spend_minor: eb.ref('excluded.qualifying_spend_minor'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
}

/** The tier basis of each customer and of every current member of their households. */
async function basesWithHouseholds(db: Db, customerIds: string[]): Promise<Map<string, TierBasis>> {
  const out = new Map<string, TierBasis>();
  const basisOf = tierBasisOf;
  const households = new Set<string>();
  for (const id of new Set(customerIds)) {
    const m = await membershipAt(db, id);
    out.set(id, basisOf(m, id));
    if (m) households.add(m.household_id);
  }
  for (const hh of households)
    for (const m of await householdMembersAt(db, hh)) out.set(m.customer_id, basisOf(m, m.customer_id));
  return out;
}
