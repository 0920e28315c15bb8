import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { normalizeAddress } from '../address/index.ts';
import type { NormalizedAddress } from '../address/types.ts';
import { simplify, soundex } from './strings.ts';
import type { PersonInput, PreparedRecord } from './types.ts';

export interface PrepareOptions {
  /** ISO country used to read phone numbers written without a country code. */
  defaultCountry: string;
}

/**
 * Normalises records for comparison. Holds caches (phones and addresses repeat across
 * household members and duplicates), so create one per run.
 */
export function createPreparer(opts: PrepareOptions): (input: PersonInput) => PreparedRecord {
  const phoneCache = new Map<string, string>();
  const country = opts.defaultCountry.toUpperCase() as CountryCode;
  const phone = (raw: string): string => {
    const digits = raw.replace(/[^0-9+]/g, '');
    if (digits.replace(/\+/g, '').length < 4) return '';
    let e164 = phoneCache.get(digits);
    if (e164 === undefined) {
      e164 = normalizePhone(digits, country);
      phoneCache.set(digits, e164);
    }
    return e164;
  };
  return (input) => prepareRecord(input, phone);
}

function prepareRecord(input: PersonInput, phone: (raw: string) => string): PreparedRecord {
  const given = nameKey(input.given_name);
  const family = nameKey(input.family_name);
  const street = streetParts(input.street_number, input.address_line1, input.address_line2);
  return {
    given,
    family,
    email: canonicalEmail(input.email ?? ''),
    phone: phone(input.phone ?? ''),
    dob: canonicalDob(input.date_of_birth ?? ''),
    nationalId: (input.national_id ?? '').replace(/[^0-9a-zA-Z]/g, '').toLowerCase(),
    streetNumber: street.number,
    street: street.name,
    line2: street.unit,
    city: simplify(input.city ?? ''),
    postcode: (input.postal_code ?? '').replace(/[^0-9a-zA-Z]/g, '').toLowerCase(),
    region: simplify(input.region ?? ''),
    givenSdx: soundex(given),
    familySdx: soundex(family),
  };
}

/** Names compare without spaces or punctuation: `Mc Carthy` = `McCarthy`, `O'Neil` = `ONeil`. */
function nameKey(raw: string | null | undefined): string {
  return simplify(raw ?? '').replace(/ /g, '');
}

/** E.164 when libphonenumber can read the number, else its bare digits. */
export function normalizePhone(raw: string, country: CountryCode): string {
  try {
    const parsed = parsePhoneNumberFromString(raw, country);
    if (parsed && parsed.isPossible()) return parsed.number;
  } catch {
    // Unparseable numbers still compare by their digits below.
  }
  return raw.replace(/[^0-9]/g, '');
}

// Google documents that dots in a Gmail address are ignored and that `+anything` is delivered
// to the same inbox. No such rule is applied to other providers (for most it is not documented,
// and for some dots are significant).
const GMAIL_DOMAINS = new Set(['gmail.com', 'googlemail.com']);

/** Lower-cased address; Gmail's documented dot and plus rules applied to Gmail only. */
export function canonicalEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1) return email;
  let local = email.slice(0, at);
  let domain = email.slice(at + 1);
  if (GMAIL_DOMAINS.has(domain)) {
    domain = 'gmail.com';
    local = local.split('+')[0]!.replace(/\./g, '');
  }
  return `${local}@${domain}`;
}

/**
 * YYYYMMDD digits. Accepts YYYYMMDD, YYYY-MM-DD and D/M/YYYY or M/D/YYYY (read as month first
 * unless the first part cannot be a month; the comparator forgives day/month swaps anyway).
 * Invalid dates are kept as digits: a corrupted date still carries evidence.
 */
export function canonicalDob(raw: string): string {
  const s = raw.trim();
  if (s === '') return '';
  const iso = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})/.exec(s);
  if (iso) return iso[1]! + iso[2]!.padStart(2, '0') + iso[3]!.padStart(2, '0');
  const us = /^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$/.exec(s);
  if (us) {
    const [first, second] = [Number(us[1]), Number(us[2])];
    const [month, day] = first > 12 ? [second, first] : [first, second];
    return us[3]! + String(month).padStart(2, '0') + String(day).padStart(2, '0');
  }
  return s.replace(/[^0-9]/g, '');
}

/**
 * Street number and street text. The number comes from its own column when the source has
 * one, else from the address normaliser's components (or a leading number when the
 * normaliser gives no components).
 */
function streetParts(numberRaw: string | null | undefined, line1Raw: string | null | undefined, line2Raw: string | null | undefined): { number: string; name: string; unit: string } {
  const line1 = (line1Raw ?? '').trim();
  const line2 = (line2Raw ?? '').trim();
  const number = simplify(numberRaw ?? '').replace(/ /g, '');
  const rawUnit = simplify(line2).replace(/ /g, '');
  if (line1 === '') return { number, name: '', unit: rawUnit };
  const normalized = safeNormalize(number === '' ? line1 : `${number} ${line1}`, line2);
  const c = normalized?.components ?? {};
  // `Apt 4B`, `#4B` and `Apartment 4-B` all become the occupancy identifier `4b`.
  const unit = (c.occupancy_identifier ?? '').toLowerCase() || rawUnit;
  if (c.street_name) {
    const name = [c.street_name_pre_directional, c.street_name_pre_type, c.street_name, c.street_name_post_type, c.street_name_post_directional]
      .filter(Boolean).join('');
    return { number: number || (c.address_number ?? '').toLowerCase(), name: name.toLowerCase().replace(/[^a-z0-9]/g, ''), unit };
  }
  const text = simplify(normalized?.standardized ?? line1);
  const lead = /^(\d+[a-z]?) (.*)$/.exec(text);
  if (number === '' && lead) return { number: lead[1]!, name: lead[2]!.replace(/ /g, ''), unit };
  const rest = number !== '' && text.startsWith(`${number} `) ? text.slice(number.length + 1) : text;
  return { number, name: rest.replace(/ /g, ''), unit };
}

function safeNormalize(line1: string, line2: string): NormalizedAddress | undefined {
  try {
    return normalizeAddress(line2 === '' ? { line1 } : { line1, line2 });
  } catch {
    // The normaliser rejects what it cannot parse; the raw text still compares.
    return undefined;
  }
}
