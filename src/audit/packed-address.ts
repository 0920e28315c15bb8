import type { PostalAddress } from '../address/index.ts';

const SEP = '\u001f';

/**
 * Address fields packed into one string (line1, line2, city, region, postal code, country), so a
 * contact costs one string instead of an object with six. Line breaks inside a street (Salesforce
 * `MailingStreet`) become spaces; the `'` spreadsheets-guard before a ZIP (Shopify) is dropped.
 */
export function packAddress(
  line1: string,
  line2: string,
  city: string,
  region: string,
  postalCode: string,
  country: string,
): string {
  return [
    clean(line1),
    clean(line2),
    clean(city),
    clean(region),
    clean(postalCode).replace(/^'/, ''),
    clean(country),
  ].join(SEP);
}

export function unpackAddress(packed: string): PostalAddress {
  const [line1 = '', line2 = '', city = '', region = '', postal_code = '', country = ''] = packed.split(SEP);
  return { line1, line2, city, region, postal_code, country };
}

/** True when the packed address has no street (neither line). */
export function isEmptyAddress(packed: string): boolean {
  return packed.startsWith(`${SEP}${SEP}`);
}

/** The packed address without its country, which is spelled too many ways to compare raw. */
export function withoutCountry(packed: string): string {
  return packed.slice(0, packed.lastIndexOf(SEP));
}

/** One human-readable line for reports: `1 Main St Apt 4, Springfield, IL 62701, US`. */
export function displayAddress(packed: string): string {
  const a = unpackAddress(packed);
  const street = [a.line1, a.line2].filter(Boolean).join(' ');
  const last = [a.region, a.postal_code].filter(Boolean).join(' ');
  return [street, a.city, last, a.country].filter(Boolean).join(', ');
}

/**
 * A spelling-insensitive form used as a fast path: two addresses equal here are certainly the
 * same delivery point, so the parser is not needed. Country is left out (US vs United States).
 */
export function looseAddressKey(packed: string): string {
  return withoutCountry(packed)
    .toUpperCase()
    .replace(/[.,]/g, '')
    .replace(/[\s\u001f]+/g, ' ')
    .trim();
}

function clean(v: string): string {
  return v.includes('\n') || v.includes('\r') || v.includes(SEP) ? v.replace(/[\r\n\u001f]+/g, ' ').trim() : v.trim();
}
