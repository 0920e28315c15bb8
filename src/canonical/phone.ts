import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

// One phone normaliser for matching, reconciliation and the audit: E.164 (libphonenumber-js),
// with the country of the record deciding numbers written without a country code.

const NANP_NUMBER = /^(\+?)1?([2-9]\d{9})$/;
const NANP_COUNTRIES = new Set(['US', 'CA']);

/**
 * North American numbers without libphonenumber (its parse is the costliest step of preparing a
 * record): `+1` and ten digits, or in the US/Canada ten digits with an optional leading 1, give
 * `+1` and the ten digits, as libphonenumber does (phone.test.ts checks the two agree). `digits`
 * holds only digits and `+`. Anything else returns undefined and goes to libphonenumber.
 */
export function fastPhone(digits: string, country: string): string | undefined {
  const m = NANP_NUMBER.exec(digits);
  if (!m || (m[1] === '' && !NANP_COUNTRIES.has(country)) || (m[1] === '+' && digits[1] !== '1')) return undefined;
  return `+1${m[2]!}`;
}

/** E.164 when the number is possible, else its bare digits (so it still compares). */
export function toE164(raw: string, country: string): string {
  const fast = fastPhone(raw.replace(/[^0-9+]/g, ''), country);
  if (fast) return fast;
  try {
    const parsed = parsePhoneNumberFromString(raw, country as CountryCode);
    if (parsed?.isPossible()) return parsed.number;
  } catch {
    // An unparseable number compares by its digits.
  }
  return raw.replace(/\D/g, '');
}
