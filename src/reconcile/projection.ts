import type { CanonicalContact } from '../canonical/types.ts';
import { addressOf } from '../canonical/customer.ts';
import type { CustomersTable } from '../db/schema.ts';

/**
 * Hearth's canonical record as a system would hold it: a system with one street line (its
 * descriptor says `single_street_line`) gets line 2 folded into line 1, as the write-back writes it.
 */
export function projectCustomer(row: CustomersTable, singleStreetLine: boolean): CanonicalContact {
  const address = addressOf(row);
  const folded =
    address && singleStreetLine
      ? { ...address, line1: [address.line1, address.line2].filter((s) => s && s.trim()).join(' '), line2: null }
      : address;
  return {
    given_name: row.given_name,
    family_name: row.family_name,
    email: row.email,
    phone: row.phone,
    address: folded,
  };
}
