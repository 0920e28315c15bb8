import type { CanonicalContact } from '../canonical/types.ts';
import { addressOf } from '../canonical/customer.ts';
import type { CustomersTable } from '../db/schema.ts';

/**
 * Hearth's canonical record as a system would hold it: HubSpot contacts have one street line, so
 * line 2 is folded into line 1 there (as the write-back writes it).
 */
export function projectCustomer(row: CustomersTable, system: string): CanonicalContact {
  const address = addressOf(row);
  const folded = address && system === 'hubspot' ? { ...address, line1: [address.line1, address.line2].filter((s) => s && s.trim()).join(' '), line2: null } : address;
  return { given_name: row.given_name, family_name: row.family_name, email: row.email, phone: row.phone, address: folded };
}
