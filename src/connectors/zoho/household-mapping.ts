import type { HouseholdLink } from '../../canonical/types.ts';
import { parseOptIn } from '../../canonical/opt-in.ts';

/** Pure mapping of a Zoho Account used as a household to one `HouseholdLink`. */

/** The slice of a Zoho Account the mapping reads (lookups are `{ id, name }`). */
export interface ZohoAccount {
  id: string;
  Account_Name?: string | null;
  Account_Type?: string | null;
  [field: string]: unknown;
}

/**
 * Zoho: the contact's Account is the household (when its Account_Type matches, if one is
 * configured); the Account's primary-contact lookup is the head.
 */
export function zohoHousehold(
  contactId: string,
  account: ZohoAccount | undefined,
  cfg: { household_account_type: string | null; primary_contact_field: string },
  optIn: unknown,
): HouseholdLink {
  if (!account || (cfg.household_account_type !== null && account.Account_Type !== cfg.household_account_type))
    return { household: null, role: 'member', opt_in: parseOptIn(optIn) };
  const primary = account[cfg.primary_contact_field] as { id?: string } | string | null | undefined;
  const headId = typeof primary === 'string' ? primary : primary?.id;
  return {
    household: { external_id: account.id, name: account.Account_Name ?? null },
    role: headId === contactId ? 'head' : 'member',
    opt_in: parseOptIn(optIn),
  };
}
