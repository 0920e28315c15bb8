import { CANONICAL_FIELDS, type CanonicalField } from './types.ts';

// Common column names per canonical field (compared case-insensitively, ignoring spaces,
// dashes and underscores), used only when no `--map` is given. A national id is never found by
// name: retail data rarely has one, and a column that merely looks like one (FEBRL's
// `soc_sec_id`) would decide matches the user never asked it to; map it explicitly.
const ALIASES: Record<CanonicalField, readonly string[]> = {
  given_name: ['given_name', 'first_name', 'firstname', 'forename', 'given'],
  family_name: ['family_name', 'surname', 'last_name', 'lastname'],
  email: ['email', 'email_address', 'e_mail'],
  phone: ['phone', 'phone_number', 'telephone', 'mobile', 'tel'],
  address_line1: ['address_line1', 'address_1', 'address1', 'street', 'street_address', 'line1'],
  address_line2: ['address_line2', 'address_2', 'address2', 'line2'],
  street_number: ['street_number', 'house_number'],
  city: ['city', 'suburb', 'town', 'locality'],
  region: ['region', 'state', 'province', 'county'],
  postal_code: ['postal_code', 'postcode', 'zip', 'zip_code', 'zipcode'],
  country: ['country', 'country_code'],
  date_of_birth: ['date_of_birth', 'dob', 'birth_date', 'birthdate'],
  national_id: [],
};

const squash = (s: string): string =>
  s
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '');

export function isCanonicalField(name: string): name is CanonicalField {
  return (CANONICAL_FIELDS as readonly string[]).includes(name);
}

/**
 * canonical field -> column index. With `--map` entries, exactly those columns are read (no
 * other column is picked up by its name); without, fields are found by their canonical name or
 * an alias. Returns the problem as text when a mapped column is absent.
 */
export function resolveColumns(
  header: readonly string[],
  explicit: ReadonlyMap<CanonicalField, string>,
): Map<CanonicalField, number> | string {
  const byName = new Map<string, number>();
  header.forEach((h, i) => {
    if (!byName.has(squash(h))) byName.set(squash(h), i);
  });
  return explicit.size > 0 ? mappedColumns(byName, explicit) : detectedColumns(byName);
}

function mappedColumns(
  byName: ReadonlyMap<string, number>,
  explicit: ReadonlyMap<CanonicalField, string>,
): Map<CanonicalField, number> | string {
  const out = new Map<CanonicalField, number>();
  for (const [field, column] of explicit) {
    const index = byName.get(squash(column));
    if (index === undefined) return `--map ${field}=${column}: no column named "${column}"`;
    out.set(field, index);
  }
  return out;
}

function detectedColumns(byName: ReadonlyMap<string, number>): Map<CanonicalField, number> {
  const out = new Map<CanonicalField, number>();
  const taken = new Set<number>();
  for (const field of CANONICAL_FIELDS) {
    for (const alias of ALIASES[field]) {
      const index = byName.get(squash(alias));
      if (index !== undefined && !taken.has(index)) {
        out.set(field, index);
        taken.add(index);
        break;
      }
    }
  }
  return out;
}

/** `field=column` for each field read, in canonical order (what `hearth match` reports). */
export function describeColumns(header: readonly string[], columns: ReadonlyMap<CanonicalField, number>): string[] {
  return CANONICAL_FIELDS.filter((f) => columns.has(f)).map((f) => `${f}=${header[columns.get(f)!]}`);
}
