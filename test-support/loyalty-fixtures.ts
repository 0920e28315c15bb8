import type { Kysely } from 'kysely';
import type { Database, HierarchyRole } from '../src/db/schema.ts';
import { setMembership, upsertHousehold } from '../src/households/membership-store.ts';
import { newId } from '../src/ids.ts';
import { applyMembershipChange } from '../src/flows/membership-change.ts';
import { DEFAULT_LOYALTY, type LoyaltySettings } from '../src/loyalty/settings.ts';

type Db = Kysely<Database>;

/** Test settings: 1 point per 1.00; member from 0, silver from 100.00, gold from 300.00 over 30 days. */
export function testSettings(over: Partial<LoyaltySettings> = {}): LoyaltySettings {
  return {
    ...DEFAULT_LOYALTY,
    tier_window_ms: 30 * 86_400_000,
    tiers: [
      { name: 'gold', min_spend_minor: 30_000 },
      { name: 'silver', min_spend_minor: 10_000 },
      { name: 'member', min_spend_minor: 0 },
    ],
    ...over,
  };
}

export async function addCustomer(db: Db, email: string, now: number): Promise<string> {
  const id = newId('cus', now);
  await db
    .insertInto('customers')
    .values({
      id,
      given_name: email.split('@')[0]!,
      family_name: null,
      email,
      email_normalized: email.toLowerCase(),
      phone: null,
      address_line1: null,
      address_line2: null,
      city: null,
      region: null,
      postal_code: null,
      country: null,
      address_key: null,
      address_source: null,
      address_validated_at: null,
      field_sources: '{}',
      merged_into: null,
      version: 1,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return id;
}

export async function addHousehold(db: Db, externalId: string, now: number): Promise<string> {
  return upsertHousehold(db, 'hubspot', externalId, `Household ${externalId}`, now);
}

/** Sets a membership and runs the loyalty hook in one transaction, as the household slice does. */
export async function join(
  db: Db,
  customerId: string,
  next: { household_id: string; role: HierarchyRole; opt_in: boolean } | null,
  now: number,
  s: LoyaltySettings,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const change = await setMembership(trx, customerId, next ? { ...next, source_system: 'hubspot' } : null, now);
    await applyMembershipChange(trx, { customer_id: customerId, ...change }, now, s);
  });
}
