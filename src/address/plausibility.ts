import { STATES } from './pub28-tables.ts';
import type { PostalAddress } from './types.ts';

/**
 * Is a confirmed address plausible enough to write to a CRM? Checkout validates addresses, yet
 * emoji-only streets, `??` states and pasted HTML get through. Each rule can be turned off
 * (config `addresses.plausibility`); a failing address is quarantined for review, not written.
 */
export const PLAUSIBILITY_RULES = ['street_letters', 'emoji', 'markup', 'region_format'] as const;
export type PlausibilityRule = (typeof PLAUSIBILITY_RULES)[number];
export type PlausibilityRules = Record<PlausibilityRule, boolean>;

export const ALL_RULES_ON: PlausibilityRules = {
  street_letters: true,
  emoji: true,
  markup: true,
  region_format: true,
};

export type Plausibility = { ok: true } | { ok: false; rule: PlausibilityRule; field: string; reason: string };

const LETTER = /\p{L}/u;
const EMOJI = /\p{Extended_Pictographic}|\p{Regional_Indicator}/u;
const MARKUP = /<[^>]*>|<\/?[a-z!]|&(?:#\d+|#x[0-9a-f]+|[a-z]+);|javascript:/i;
const US_ZIP = /^\d{5}(?:-?\d{4})?$/;
const CA_POSTAL = /^[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPR-TV-Z] ?\d[ABCEGHJ-NPR-TV-Z]\d$/i;
const CA_PROVINCES = new Set(['AB', 'BC', 'MB', 'NB', 'NL', 'NS', 'NT', 'NU', 'ON', 'PE', 'QC', 'SK', 'YT']);
// Armed Forces "states" are valid USPS state codes though Pub. 28's state table omits them.
const US_REGIONS = new Set([...Object.keys(STATES), ...Object.values(STATES), 'AA', 'AE', 'AP']);

const FIELDS = ['line1', 'line2', 'city', 'region', 'postal_code', 'country'] as const;

/** The first rule the address fails, with its reason; `{ ok: true }` when it passes every rule that is on. */
export function checkPlausibility(a: PostalAddress, rules: PlausibilityRules = ALL_RULES_ON): Plausibility {
  if (rules.street_letters && !LETTER.test(a.line1))
    return { ok: false, rule: 'street_letters', field: 'line1', reason: 'the street line has no letters' };
  for (const field of FIELDS) {
    const v = a[field];
    if (!v) continue;
    if (rules.emoji && EMOJI.test(v)) return { ok: false, rule: 'emoji', field, reason: `${field} contains emoji` };
    if (rules.markup && MARKUP.test(v)) return { ok: false, rule: 'markup', field, reason: `${field} contains markup` };
  }
  return rules.region_format ? regionFormat(a) : { ok: true };
}

/** State and postal code in the formats of the country, for the countries whose formats are known. */
function regionFormat(a: PostalAddress): Plausibility {
  const country = (a.country ?? 'US').trim().toUpperCase();
  const region = a.region?.trim().toUpperCase() || null;
  const zip = a.postal_code?.trim() || null;
  const fail = (field: string, reason: string): Plausibility => ({ ok: false, rule: 'region_format', field, reason });
  if (['US', 'USA', 'UNITED STATES'].includes(country)) {
    if (region && !US_REGIONS.has(region)) return fail('region', `"${region}" is not a US state`);
    if (zip && !US_ZIP.test(zip)) return fail('postal_code', `"${zip}" is not a US ZIP code`);
  } else if (['CA', 'CANADA'].includes(country)) {
    if (region && !CA_PROVINCES.has(region)) return fail('region', `"${region}" is not a Canadian province`);
    if (zip && !CA_POSTAL.test(zip)) return fail('postal_code', `"${zip}" is not a Canadian postal code`);
  }
  return { ok: true };
}
