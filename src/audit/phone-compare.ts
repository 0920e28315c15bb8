import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

export type PhoneVerdict = 'same' | 'format_only' | 'mismatch';

export interface PhoneComparison {
  verdict: PhoneVerdict;
  crm_e164: string;
  observed_e164: string;
}

/**
 * Compares two phone numbers as E.164 (libphonenumber-js), the country of the address deciding
 * numbers written without a country code. Identical strings and identical digits skip the parser.
 */
export function comparePhones(crmRaw: string, observedRaw: string, country: string | (() => string)): PhoneComparison {
  // Shopify exports guard phone numbers against spreadsheets with a leading `'`.
  const crm = crmRaw.replace(/^'/, '');
  const observed = observedRaw.replace(/^'/, '');
  if (crm === observed) return { verdict: 'same', crm_e164: crm, observed_e164: observed };
  const a = digits(crm);
  const b = digits(observed);
  if (a === b) return { verdict: 'format_only', crm_e164: crm, observed_e164: observed };
  const region = countryCode(typeof country === 'function' ? country() : country);
  // North America: `(312) 555-1212` and `+1 312 555 1212` differ only by the country code.
  if ((region === 'US' || region === 'CA') && a.length + b.length === 21 && (`1${a}` === b || `1${b}` === a)) return { verdict: 'format_only', crm_e164: `+1${a.slice(-10)}`, observed_e164: `+1${b.slice(-10)}` };
  const x = toE164(crm, region);
  const y = toE164(observed, region);
  return { verdict: x === y ? 'format_only' : 'mismatch', crm_e164: x, observed_e164: y };
}

/** E.164 when the number is possible, else its bare digits (so it still compares). */
export function toE164(raw: string, region: CountryCode): string {
  try {
    const parsed = parsePhoneNumberFromString(raw, region);
    if (parsed?.isPossible()) return parsed.number;
  } catch {
    // Unparseable numbers compare by digits.
  }
  return digits(raw);
}

function digits(raw: string): string {
  return raw.replace(/\D/g, '');
}

const US_NAMES = new Set(['', 'US', 'USA', 'UNITED STATES', 'UNITED STATES OF AMERICA']);

function countryCode(country: string): CountryCode {
  const c = country.trim().toUpperCase();
  if (US_NAMES.has(c)) return 'US';
  if (c === 'CANADA') return 'CA';
  return /^[A-Z]{2}$/.test(c) ? (c as CountryCode) : 'US';
}
