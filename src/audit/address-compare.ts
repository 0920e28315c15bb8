import { compareAddresses, normalizeAddress, type NormalizedAddress } from '../address/index.ts';
import { looseAddressKey, unpackAddress, withoutCountry } from './packed-address.ts';

export type AddressVerdict = 'same' | 'format_only' | 'drift';

export interface AddressOutcome {
  verdict: AddressVerdict;
  differing: string[];
  format_only: string[];
}

const SAME: AddressOutcome = { verdict: 'same', differing: [], format_only: [] };

/**
 * Compares packed addresses as delivery points (`src/address`): `Apt 4B` vs `Apartment 4-B`,
 * `Street` vs `St`, ZIP+4 vs ZIP5 are `format_only`. Spellings equal after case and punctuation
 * folding skip the parser; parsed addresses are memoised per distinct string (bounded).
 */
export function createAddressComparer(memoLimit = 200_000): (crm: string, observed: string) => AddressOutcome {
  const memo = new Map<string, NormalizedAddress>();
  const normalized = (packed: string): NormalizedAddress => {
    let n = memo.get(packed);
    if (!n) {
      if (memo.size >= memoLimit) memo.clear();
      n = normalizeAddress(unpackAddress(packed));
      memo.set(packed, n);
    }
    return n;
  };
  return (crm, observed) => {
    if (withoutCountry(crm) === withoutCountry(observed) || looseAddressKey(crm) === looseAddressKey(observed))
      return SAME;
    const c = compareAddresses(normalized(crm), normalized(observed));
    if (c.same_delivery_point)
      return {
        verdict: 'format_only',
        differing: [],
        format_only: [...c.format_only, ...spelledDifferently(crm, observed)],
      };
    return cityMovedWithZip({ verdict: 'drift', differing: c.differing, format_only: c.format_only });
  };
}

/**
 * The address module calls a city difference format-only when the ZIP decides the place; when
 * the ZIP itself differs, the customer moved town and the city differs too.
 */
function cityMovedWithZip(o: AddressOutcome): AddressOutcome {
  if (!o.differing.includes('zip_code') || !o.format_only.includes('place_name')) return o;
  return {
    ...o,
    differing: [...o.differing, 'place_name'],
    format_only: o.format_only.filter((p) => p !== 'place_name'),
  };
}

const FIELDS = ['line1', 'line2', 'city', 'region', 'postal_code', 'country'] as const;

/** Which input fields are spelled differently (`Street` vs `St` leaves no trace in the components). */
function spelledDifferently(crm: string, observed: string): string[] {
  const a = unpackAddress(crm);
  const b = unpackAddress(observed);
  return FIELDS.filter((f) => (a[f] ?? '').toUpperCase() !== (b[f] ?? '').toUpperCase());
}
