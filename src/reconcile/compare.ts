import type { CountryCode } from 'libphonenumber-js';
import { toE164 } from '../canonical/phone.ts';
import { compareAddresses, joinPostal, normalizeAddress } from '../address/index.ts';
import type { PostalAddress } from '../address/types.ts';
import type { OwnedField } from '../canonical/fields.ts';
import type { CanonicalContact } from '../canonical/types.ts';

/** same: identical; format_only: same value spelled differently (never drift); drift: a different value. */
export type FieldOutcome = 'same' | 'format_only' | 'drift';

export interface FieldComparison {
  field: OwnedField;
  outcome: FieldOutcome;
  /** Hearth's value and the system's, as text (an address on one line). */
  canonical: string;
  system: string | null;
  /** Evidence: differing address components, both numbers as E.164... */
  detail: Record<string, unknown>;
}

export const RECONCILED_FIELDS: readonly OwnedField[] = ['given_name', 'family_name', 'email', 'phone', 'address'];

/**
 * Compares a record pulled from a system with Hearth's canonical projection for that system,
 * field by field. A field Hearth holds no value for is not compared (nothing to be right about);
 * a value Hearth holds that the system lacks is drift.
 */
export function compareContact(
  canonical: CanonicalContact,
  pulled: CanonicalContact,
  defaultCountry: string,
): FieldComparison[] {
  const out: FieldComparison[] = [];
  for (const field of RECONCILED_FIELDS) {
    const c = compareField(field, canonical, pulled, defaultCountry);
    if (c) out.push(c);
  }
  return out;
}

function compareField(
  field: OwnedField,
  canonical: CanonicalContact,
  pulled: CanonicalContact,
  country: string,
): FieldComparison | null {
  if (field === 'address')
    return canonical.address?.line1?.trim() ? compareAddressField(canonical.address, pulled.address ?? null) : null;
  const want = text(canonical[field]);
  if (!want) return null;
  const got = text(pulled[field]);
  if (field === 'phone') return comparePhoneField(want, got, phoneCountry(canonical, country));
  const outcome: FieldOutcome =
    got === want ? 'same' : got && fold(got, field) === fold(want, field) ? 'format_only' : 'drift';
  return { field, outcome, canonical: want, system: got, detail: {} };
}

/** Names fold case, accents and spacing; email folds case (its local part is case-insensitive in practice). */
function fold(v: string, field: OwnedField): string {
  const lower = v.toLowerCase().replace(/\s+/g, ' ').trim();
  return field === 'email'
    ? lower
    : lower
        .normalize('NFKD')
        .replace(/\p{M}/gu, '')
        .replace(/[\s.'’-]/g, '');
}

export function comparePhoneField(want: string, got: string | null, country: CountryCode): FieldComparison {
  const canonicalE164 = toE164(want, country);
  const systemE164 = got ? toE164(got, country) : null;
  const outcome: FieldOutcome =
    got === want ? 'same' : systemE164 && systemE164 === canonicalE164 ? 'format_only' : 'drift';
  return {
    field: 'phone',
    outcome,
    canonical: want,
    system: got,
    detail: { canonical_e164: canonicalE164, system_e164: systemE164 },
  };
}

function phoneCountry(c: CanonicalContact, fallback: string): CountryCode {
  const country = (c.address?.country ?? '').trim().toUpperCase();
  return (/^[A-Z]{2}$/.test(country) ? country : fallback.toUpperCase()) as CountryCode;
}

/**
 * Addresses compare as delivery points: `Apt 4B`/`Apartment 4-B`, `Street`/`St`, ZIP+4/ZIP5 and a
 * second line folded into the first (HubSpot) are format differences, never drift.
 */
export function compareAddressField(want: PostalAddress, got: PostalAddress | null): FieldComparison {
  const canonical = addressText(want);
  const system = got && got.line1.trim() ? addressText(got) : null;
  if (!got || !system) return { field: 'address', outcome: 'drift', canonical, system, detail: { missing: true } };
  if (canonical === system) return { field: 'address', outcome: 'same', canonical, system, detail: {} };
  const cmp = compareAddresses(normalizeAddress(want), normalizeAddress(got));
  const outcome: FieldOutcome = cmp.same_delivery_point ? 'format_only' : 'drift';
  return {
    field: 'address',
    outcome,
    canonical,
    system,
    detail: cmp.same_delivery_point ? { format_only: cmp.format_only } : { differing: cmp.differing },
  };
}

function addressText(a: PostalAddress): string {
  const country = a.country?.trim();
  return [joinPostal(a).replace(/\s+/g, ' ').trim(), country].filter(Boolean).join(', ');
}

function text(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const t = v.trim();
  return t ? t : null;
}
