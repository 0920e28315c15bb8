import type { CountryCode } from 'libphonenumber-js';
import { toE164 } from '../canonical/phone.ts';

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
  const x = toE164(crm, region);
  const y = toE164(observed, region);
  return { verdict: x === y ? 'format_only' : 'mismatch', crm_e164: x, observed_e164: y };
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
