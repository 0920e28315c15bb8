import type { PostalAddress } from '../address/types.ts';
import type { CustomersTable } from '../db/schema.ts';

/** The canonical customer as the API shows it (snake_case, stable). */
export interface Customer {
  id: string;
  given_name: string | null;
  family_name: string | null;
  email: string | null;
  phone: string | null;
  address: (PostalAddress & { key: string | null; source: string | null; validated_at: string | null }) | null;
  merged_into: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

/** Address columns of the customers table, in the order they are logged. */
export const ADDRESS_COLUMNS = ['address_line1', 'address_line2', 'city', 'region', 'postal_code', 'country'] as const;
export type AddressColumn = (typeof ADDRESS_COLUMNS)[number];

export function normalizeEmail(email: string | null | undefined): string | null {
  const trimmed = email?.trim().toLowerCase();
  return trimmed ? trimmed : null;
}

export function addressColumns(a: PostalAddress): Record<AddressColumn, string | null> {
  return {
    address_line1: a.line1?.trim() || null,
    address_line2: a.line2?.trim() || null,
    city: a.city?.trim() || null,
    region: a.region?.trim() || null,
    postal_code: a.postal_code?.trim() || null,
    country: a.country?.trim() || null,
  };
}

export function addressOf(row: Pick<CustomersTable, AddressColumn>): PostalAddress | null {
  if (!row.address_line1) return null;
  return {
    line1: row.address_line1,
    line2: row.address_line2,
    city: row.city,
    region: row.region,
    postal_code: row.postal_code,
    country: row.country,
  };
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function toCustomer(row: CustomersTable): Customer {
  const address = addressOf(row);
  return {
    id: row.id,
    given_name: row.given_name,
    family_name: row.family_name,
    email: row.email,
    phone: row.phone,
    address: address && {
      ...address,
      key: row.address_key,
      source: row.address_source,
      validated_at: iso(row.address_validated_at),
    },
    merged_into: row.merged_into,
    version: row.version,
    created_at: iso(row.created_at)!,
    updated_at: iso(row.updated_at)!,
  };
}
