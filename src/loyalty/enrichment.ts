import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { HierarchyRole } from '../db/schema.ts';
import { membershipAt, type Membership } from '../households/membership-store.ts';
import { balanceOf } from './ledger-store.ts';
import { accountAt } from './order-ledger.ts';
import type { LoyaltySettings } from './settings.ts';
import { tierOf } from './tier-store.ts';

type Db = Kysely<Database>;

/** The household context a transaction carries to the loyalty platform (docs/checkout-enrichment.md). */
export interface Enrichment {
  customer_id: string;
  household_id: string | null;
  hierarchy_role: HierarchyRole | null;
  points_aggregation_opt_in: boolean;
  tier: string | null;
  /** The ledger account the order credits: the household pool or the customer. */
  account_id: string;
  /** That account's balance (points). */
  balance: number;
}

/** Household and tier of a customer for an order placed at `at` (membership then; tier and balance now). */
export async function enrichmentFor(
  db: Db,
  customerId: string,
  at: number | undefined,
  now: number,
  s: LoyaltySettings,
  known?: Membership | null,
): Promise<Enrichment> {
  const m = known === undefined ? await membershipAt(db, customerId, at) : (known ?? undefined);
  const account_id = accountAt(customerId, m);
  return {
    customer_id: customerId,
    household_id: m?.household_id ?? null,
    hierarchy_role: m?.role ?? null,
    points_aggregation_opt_in: m?.points_aggregation_opt_in ?? false,
    tier: await tierOf(db, customerId, now, s),
    account_id,
    balance: await balanceOf(db, account_id),
  };
}
