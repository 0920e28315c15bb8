import type { AddressComparison, AddressComponents, NormalizedAddress, PostalAddress } from './types.ts';
import { tokenize } from './parse.ts';
import { NO_NUMBER_UNITS, parseTagged } from './tagged.ts';

export { parseAddressByRules } from './parse.ts';
export { loadTaggerModel } from './tagger.ts';
export type { AddressComparison, AddressComponents, NormalizedAddress, PostalAddress } from './types.ts';

const ORDINALS: Readonly<Record<string, string>> = {
  FIRST: '1ST',
  SECOND: '2ND',
  THIRD: '3RD',
  FOURTH: '4TH',
  FIFTH: '5TH',
  SIXTH: '6TH',
  SEVENTH: '7TH',
  EIGHTH: '8TH',
  NINTH: '9TH',
  TENTH: '10TH',
  ELEVENTH: '11TH',
  TWELFTH: '12TH',
  THIRTEENTH: '13TH',
  FOURTEENTH: '14TH',
  FIFTEENTH: '15TH',
  SIXTEENTH: '16TH',
  SEVENTEENTH: '17TH',
  EIGHTEENTH: '18TH',
  NINETEENTH: '19TH',
  TWENTIETH: '20TH',
};

/** Parts of the delivery point, in key order. City is left out when there is a ZIP (ZIP decides). */
const KEY_PARTS = [
  'address_number',
  'street_name_pre_directional',
  'street_name',
  'street_name_post_type',
  'street_name_post_directional',
  'occupancy_identifier',
  'usps_box_id',
] as const;

export function joinPostal(a: PostalAddress): string {
  return [
    [a.line1, a.line2].filter((s) => s && s.trim()).join(' '),
    a.city,
    [a.region, a.postal_code].filter(Boolean).join(' '),
  ]
    .filter((s) => s && String(s).trim())
    .join(', ');
}

/** Components of a free-text US address, tagged by the sequence model, in Pub. 28 forms. Never throws. */
export function parseAddress(raw: string): AddressComponents {
  return parseTagged(raw).components;
}

/**
 * Components, delivery-point key and standard form. Input that is not a US address, or in
 * which no street or box can be found, is `valid: false` with the reason, and keys on its
 * normalised tokens (so it only ever equals the same text).
 */
export function normalizeAddress(input: string | PostalAddress): NormalizedAddress {
  const raw = typeof input === 'string' ? input : joinPostal(input);
  // The country is the only input beside the joined text that changes the result.
  const cacheKey = typeof input === 'string' || !input.country ? raw : `${raw}\u0000${input.country}`;
  let hit = recent.get(cacheKey);
  if (hit) {
    recent.delete(cacheKey); // most recently used last
  } else {
    hit = normalizeUncached(raw, input);
    if (recent.size >= RECENT_MAX) recent.delete(recent.keys().next().value!);
  }
  recent.set(cacheKey, hit);
  // A copy: a caller may edit what it gets (components included) without changing the cache.
  return { ...hit, components: { ...hit.components } };
}

/**
 * One webhook's address is normalised by several stages (the apply flow's delivery-point key,
 * identity blocking and comparison, the CRM connector's "already there" check): the parse is
 * pure, so recent results are kept (bounded, least recently used dropped first).
 */
const recent = new Map<string, NormalizedAddress>();
const RECENT_MAX = 2000;

function normalizeUncached(raw: string, input: string | PostalAddress): NormalizedAddress {
  const parsed = parseTagged(raw);
  const components = parsed.components;
  let { valid, reason } = parsed;
  if (typeof input !== 'string' && input.country && !components.country)
    components.country = normalizeCountry(input.country);
  if (valid && components.country && components.country !== 'US')
    [valid, reason] = [false, `not a US address (country ${components.country})`];
  const key = valid ? deliveryPointKey(components, raw) : rawKey(raw);
  return { raw, components, key, standardized: standardize(components), valid, ...(reason ? { reason } : {}) };
}

/** True when both name one delivery point, however spelled; an empty street never matches. */
export function sameDeliveryPoint(a: PostalAddress, b: PostalAddress): boolean {
  if (!a.line1.trim() || !b.line1.trim()) return false;
  return normalizeAddress(a).key === normalizeAddress(b).key;
}

function normalizeCountry(country: string): string {
  const c = country.trim().toUpperCase();
  return ['US', 'USA', 'UNITED STATES', 'UNITED STATES OF AMERICA'].includes(c) ? 'US' : c;
}

/** Key values compare spelling-free: ordinals as numbers, no hyphens or spaces inside unit ids. */
function keyValue(part: (typeof KEY_PARTS)[number], v: string | undefined): string {
  if (!v) return '';
  if (part === 'street_name')
    return v
      .split(/[\s-]+/)
      .map((w) => ORDINALS[w] ?? w)
      .join(' ');
  if (part === 'occupancy_identifier' || part === 'usps_box_id') return v.replace(/[\s-]/g, '');
  return v;
}

function rawKey(raw: string): string {
  return `RAW|${tokenize(raw)
    .filter((t) => t !== ',')
    .join(' ')}`;
}

/**
 * `NUMBER|PREDIR|NAME|SUFFIX|POSTDIR|UNIT|BOX|ZIP5` (or `CITY ST` without a ZIP). The unit
 * designator is left out on purpose: `Apt 4B`, `Unit 4B` and `# 4B` name the same door. An
 * address that parses to no street at all keys on its normalised tokens.
 */
export function deliveryPointKey(c: AddressComponents, raw: string): string {
  if (!c.street_name && !c.usps_box_id) return rawKey(raw);
  const where = c.zip_code ?? [c.place_name, c.state_name].filter(Boolean).join(' ');
  const parts = KEY_PARTS.map((p) => keyValue(p, c[p]));
  // "Highway 71" / "Hwy 71": the pre-type is part of the street's name in the key.
  if (c.street_name_pre_type) parts[2] = `${c.street_name_pre_type} ${parts[2]}`;
  // A rural-route box is only a delivery point with its route: RR 2 BOX 5 is not RR 3 BOX 5.
  if (c.usps_box_group_id) parts[parts.length - 1] = `${c.usps_box_group_type}${c.usps_box_group_id}/${parts.at(-1)}`;
  return [...parts, where].join('|');
}

export function standardize(c: AddressComponents): string {
  const box = c.usps_box_group_id
    ? `${c.usps_box_group_type} ${c.usps_box_group_id} BOX ${c.usps_box_id}`
    : `PO BOX ${c.usps_box_id}`;
  const street = c.street_name
    ? [
        c.address_number,
        c.street_name_pre_directional,
        c.street_name_pre_type,
        c.street_name,
        c.street_name_post_type,
        c.street_name_post_directional,
      ]
        .filter(Boolean)
        .join(' ')
    : '';
  const line1 = c.usps_box_id
    ? [street, box].filter(Boolean).join(' ')
    : [
        c.address_number,
        c.street_name_pre_directional,
        c.street_name_pre_type,
        c.street_name,
        c.street_name_post_type,
        c.street_name_post_directional,
        c.occupancy_identifier ? unitText(c.occupancy_type, c.occupancy_identifier) : c.occupancy_type,
      ]
        .filter(Boolean)
        .join(' ');
  const zip = c.zip_code ? (c.zip_plus4 ? `${c.zip_code}-${c.zip_plus4}` : c.zip_code) : '';
  const last = [c.place_name, [c.state_name, zip].filter(Boolean).join(' ')].filter(Boolean).join(', ');
  return [line1, last].filter(Boolean).join(', ');
}

/** "APT 4B", "# 4B", and a unit that takes no number on its own ("REAR"). */
function unitText(type: string | undefined, id: string): string {
  if (!type && NO_NUMBER_UNITS.has(id)) return id;
  return `${type ?? '#'} ${id}`;
}

const COMPARED: (keyof AddressComponents)[] = [
  'address_number',
  'street_name_pre_directional',
  'street_name_pre_type',
  'street_name',
  'street_name_post_type',
  'street_name_post_directional',
  'occupancy_type',
  'occupancy_identifier',
  'usps_box_group_type',
  'usps_box_group_id',
  'usps_box_id',
  'place_name',
  'state_name',
  'zip_code',
  'zip_plus4',
];

/**
 * Which components differ as delivery-point values (`differing`), and which are spelled
 * differently but mean the same (`format_only`: `FIFTH`/`5TH`, `APT`/`#`, ZIP+4 present or not,
 * the city when the ZIP already decides the place).
 */
export function compareAddresses(
  a: string | PostalAddress | NormalizedAddress,
  b: string | PostalAddress | NormalizedAddress,
): AddressComparison {
  const x = toNormalized(a);
  const y = toNormalized(b);
  const same = x.key === y.key;
  const differing: (keyof AddressComponents)[] = [];
  const format_only: (keyof AddressComponents)[] = [];
  for (const part of COMPARED) {
    const rawX = x.components[part] ?? '';
    const rawY = y.components[part] ?? '';
    if (rawX === rawY) continue;
    const meaningful =
      KEY_PARTS.includes(part as (typeof KEY_PARTS)[number]) && comparable(part, rawX) !== comparable(part, rawY);
    const zipDecides =
      part === 'zip_code' ||
      (part === 'place_name' && Boolean(x.components.zip_code && y.components.zip_code)) ||
      part === 'zip_plus4' ||
      part === 'occupancy_type';
    if (
      !same &&
      (meaningful || part === 'zip_code' || (!zipDecides && !KEY_PARTS.includes(part as (typeof KEY_PARTS)[number])))
    )
      differing.push(part);
    else format_only.push(part);
  }
  return { same_delivery_point: same, differing, format_only };
}

function comparable(part: keyof AddressComponents, v: string | undefined): string {
  return KEY_PARTS.includes(part as (typeof KEY_PARTS)[number])
    ? keyValue(part as (typeof KEY_PARTS)[number], v)
    : (v ?? '');
}

function toNormalized(v: string | PostalAddress | NormalizedAddress): NormalizedAddress {
  return typeof v === 'object' && 'key' in v && 'components' in v ? v : normalizeAddress(v as string | PostalAddress);
}
