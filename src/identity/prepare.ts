import type { CountryCode } from 'libphonenumber-js';
import { fastPhone, toE164 } from '../canonical/phone.ts';
import { normalizeAddress } from '../address/index.ts';
import type { NormalizedAddress } from '../address/types.ts';
import { simplify, soundex } from './strings.ts';
import type { PersonInput, PreparedRecord } from './types.ts';

export interface PrepareOptions {
  /** ISO country used to read phone numbers written without a country code. */
  defaultCountry: string;
}

/**
 * Normalises records for comparison. Holds caches (names, dates, places, phones and addresses
 * repeat across household members and duplicates), so create one per run.
 */
export function createPreparer(opts: PrepareOptions): (input: PersonInput) => PreparedRecord {
  const country = opts.defaultCountry.toUpperCase() as CountryCode;
  const caches: PrepareCaches = {
    phone: phoneNormalizer(country),
    name: memo((raw) => nameKey(raw)),
    soundex,
    dob: memo(canonicalDob),
    place: memo(simplify),
    street: memoStreet(),
    code: codeKey,
    letters: memo(lettersOf),
    line2Key: memo((raw) => simplify(raw).replace(/[^a-z0-9]/g, '')),
  };
  return (input) => prepareRecord(input, caches);
}

interface PrepareCaches {
  phone: (digits: string) => string;
  name: (raw: string) => string;
  soundex: (key: string) => string;
  dob: (raw: string) => string;
  place: (raw: string) => string;
  street: (number: string, line1: string, line2: string) => StreetParts;
  // Postcodes, national ids and address lines as typed repeat too (households, duplicates): one
  // string per distinct value also keeps the heap smaller and makes equal values compare as one.
  code: (raw: string) => string;
  letters: (raw: string) => string;
  line2Key: (raw: string) => string;
}

// Bounded memo: a preparer kept by a long-running process must not grow without limit, so a
// cache that reaches MEMO_LIMIT entries starts over (values are pure functions of the key).
const MEMO_LIMIT = 1 << 20;

function memo<T>(fn: (key: string) => T): (key: string) => T {
  let cache = new Map<string, T>();
  return (key) => {
    let v = cache.get(key);
    if (v === undefined) {
      v = fn(key);
      if (cache.size >= MEMO_LIMIT) cache = new Map();
      cache.set(key, v);
    }
    return v;
  };
}

// Household members share an address: parse each distinct (line 1, number, line 2) once. Most
// records have no separate number or line 2, and then line 1 itself is the key (a joined key is
// a new string to hash on every look-up).
function memoStreet(): PrepareCaches['street'] {
  let cache = new Map<string, StreetParts>();
  return (number, line1, line2) => {
    const key = number === '' && line2 === '' ? line1 : `${line1}\u0000${number}\u0000${line2}`;
    let parts = cache.get(key);
    if (parts === undefined) {
      parts = streetParts(number, line1, line2);
      if (cache.size >= MEMO_LIMIT) cache = new Map();
      cache.set(key, parts);
    }
    return parts;
  };
}

function prepareRecord(input: PersonInput, c: PrepareCaches): PreparedRecord {
  const given = c.name(input.given_name ?? '');
  const family = c.name(input.family_name ?? '');
  const number = input.street_number ?? '';
  const line2 = input.address_line2 ?? '';
  const street = c.street(number, input.address_line1 ?? '', line2);
  // Line 2 as a street: sources and typists swap the two lines (FEBRL's duplicates do too).
  const swappable = line2.trim() !== '';
  const street1 = swappable ? c.street(number, input.address_line1 ?? '', '').name : '';
  const street2 = swappable ? c.street(number, line2, '').name : '';
  return {
    given,
    family,
    email: canonicalEmail(input.email ?? ''),
    phone: phoneOf(input.phone ?? '', c.phone),
    dob: c.dob(input.date_of_birth ?? ''),
    nationalId: c.code(input.national_id ?? ''),
    streetNumber: street.number,
    street: street.name,
    line2: street.unit,
    street1,
    street2,
    streetRaw: c.letters(input.address_line1 ?? ''),
    line2Raw: c.letters(line2),
    line2Key: c.line2Key(line2),
    city: c.place(input.city ?? ''),
    postcode: c.code(input.postal_code ?? ''),
    region: c.place(input.region ?? ''),
    givenSdx: c.soundex(given),
    familySdx: c.soundex(family),
  };
}

// The fast path is cheaper than a cache look-up; only libphonenumber's answers are cached.
function phoneNormalizer(country: CountryCode): (digits: string) => string {
  const slow = memo((digits) => normalizePhone(digits, country));
  return (digits) => fastPhone(digits, country) ?? slow(digits);
}

function phoneOf(raw: string, normalize: (digits: string) => string): string {
  let count = 0;
  for (let i = 0; i < raw.length && count < 4; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 48 && c <= 57) count++;
  }
  // Fewer than four digits: no phone (checked before building the digits string).
  if (count < 4) return '';
  return normalize(raw.replace(/[^0-9+]/g, ''));
}

/** Letters only: `Copland Drive` and `coplanddrive` give the same. */
function lettersOf(raw: string): string {
  return simplify(raw).replace(/[^a-z]/g, '');
}

/** Postcodes and national ids: letters and digits, lower case. */
function codeKey(raw: string): string {
  return raw.replace(/[^0-9a-zA-Z]/g, '').toLowerCase();
}

/** Names compare without spaces or punctuation: `Mc Carthy` = `McCarthy`, `O'Neil` = `ONeil`. */
function nameKey(raw: string | null | undefined): string {
  return simplify(raw ?? '').replace(/ /g, '');
}

/** E.164 when libphonenumber can read the number, else its bare digits (canonical/phone.ts). */
export function normalizePhone(raw: string, country: CountryCode): string {
  return toE164(raw, country);
}

// Google documents that dots in a Gmail address are ignored and that `+anything` is delivered
// to the same inbox. No such rule is applied to other providers (for most it is not documented,
// and for some dots are significant).
const GMAIL_DOMAINS = ['gmail.com', 'googlemail.com'];

// The domain compared in place: a domain substring per record was garbage.
function isGmailDomain(email: string, from: number): boolean {
  for (const d of GMAIL_DOMAINS) if (email.length - from === d.length && email.startsWith(d, from)) return true;
  return false;
}

/** Lower-cased address; Gmail's documented dot and plus rules applied to Gmail only. */
export function canonicalEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1) return email;
  if (!isGmailDomain(email, at + 1)) return email;
  // join, not a template: it gives a flat string, which compares faster in the pair loop.
  return [email.slice(0, at).split('+')[0]!.replace(/\./g, ''), 'gmail.com'].join('@');
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
  // Partial dates: YYYY-MM or MM/YYYY -> YYYYMM (a lone year stays YYYY).
  const ym = /^(\d{4})[-/.](\d{1,2})$/.exec(s);
  if (ym) return ym[1]! + ym[2]!.padStart(2, '0');
  const my = /^(\d{1,2})[-/.](\d{4})$/.exec(s);
  if (my) return my[2]! + my[1]!.padStart(2, '0');
  return s.replace(/[^0-9]/g, '');
}

/**
 * Street number and street text. The number comes from its own column when the source has
 * one, else from the address normaliser's components (or a leading number when the
 * normaliser gives no components).
 */
interface StreetParts {
  number: string;
  name: string;
  unit: string;
}

function streetParts(
  numberRaw: string | null | undefined,
  line1Raw: string | null | undefined,
  line2Raw: string | null | undefined,
): StreetParts {
  const line1 = (line1Raw ?? '').trim();
  const line2 = (line2Raw ?? '').trim();
  const number = simplify(numberRaw ?? '').replace(/ /g, '');
  const rawUnit = simplify(line2).replace(/ /g, '');
  if (line1 === '') return { number, name: '', unit: rawUnit };
  let normalized = safeNormalize(number === '' ? line1 : `${number} ${line1}`, line2);
  // Without a number the parser may find no street (`heagney crescent`): read the line as if it
  // had one, so that it gives the same street as its twin with a number.
  if (number === '' && !normalized?.components.street_name && !/^\d/.test(line1)) {
    const numbered = safeNormalize(`1 ${line1}`, line2);
    if (numbered?.components.street_name)
      normalized = { ...numbered, components: { ...numbered.components, address_number: '' } };
  }
  const c = normalized?.components ?? {};
  // `Apt 4B`, `#4B` and `Apartment 4-B` all become the occupancy identifier `4b`.
  const unit = (c.occupancy_identifier ?? '').toLowerCase() || rawUnit;
  if (c.street_name) {
    const name = [
      c.street_name_pre_directional,
      c.street_name_pre_type,
      c.street_name,
      c.street_name_post_type,
      c.street_name_post_directional,
    ]
      .filter(Boolean)
      .join('');
    return {
      number: number || (c.address_number ?? '').toLowerCase(),
      name: name.toLowerCase().replace(/[^a-z0-9]/g, ''),
      unit,
    };
  }
  const text = simplify(normalized?.standardized || line1);
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
