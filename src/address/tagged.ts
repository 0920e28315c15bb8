import { DIRECTIONALS as PUB28_DIRECTIONALS, STATES, SUFFIXES, UNIT_DESIGNATORS } from './pub28-tables.ts';
import { tagAddress, type Tagged } from './tagger.ts';
import type { AddressComponents } from './types.ts';

/**
 * From the tagger's tags to Pub. 28–normalised components: the tagger decides which token is
 * which part; the tables here decide how each part is spelled. Also decides whether the input
 * is a US address Hearth can key at all (`valid`), instead of calling anything a street.
 */

export interface TaggedParse {
  components: AddressComponents;
  valid: boolean;
  /** Why the input is not a parseable US address (only when `valid` is false). */
  reason?: string;
}

// The tagger also sees two-word directionals ("North East") as one part.
const DIRECTIONALS: Readonly<Record<string, string>> = {
  ...PUB28_DIRECTIONALS,
  'NORTH EAST': 'NE',
  'NORTH WEST': 'NW',
  'SOUTH EAST': 'SE',
  'SOUTH WEST': 'SW',
};
const MULTI_STATES = Object.keys(STATES)
  .filter((name) => name.includes(' '))
  .map((name) => name.split(' '))
  .sort((a, b) => b.length - a.length);
const NUMBER_WORDS = new Set(
  ['ONE', 'TWO', 'THREE', 'FOUR', 'FIVE', 'SIX', 'SEVEN', 'EIGHT', 'NINE', 'TEN', 'MILE', 'MI'].concat([
    'ELEVEN',
    'TWELVE',
    'TWENTY',
    'THIRTY',
    'FORTY',
    'FIFTY',
    'HUNDRED',
    'THOUSAND',
  ]),
);
const BOX_GROUPS: Readonly<Record<string, string>> = {
  RR: 'RR',
  RFD: 'RR',
  RTE: 'RR',
  RT: 'RR',
  ROUTE: 'RR',
  'RURAL ROUTE': 'RR',
  'RURAL RT': 'RR',
  'RURAL RTE': 'RR',
  HC: 'HC',
  HCR: 'HC',
  'HIGHWAY CONTRACT': 'HC',
  'STAR ROUTE': 'HC',
};
const PO_BOX = new Set(['PO BOX', 'P O BOX', 'POB', 'POST OFFICE BOX', 'PO BX', 'P O BX', 'BOX', 'BX', 'PO', 'P O']);
const US_NAMES = new Set(['US', 'USA', 'U S', 'U S A', 'UNITED STATES', 'UNITED STATES OF AMERICA', 'AMERICA']);
const STATE_CODES = new Set([...Object.values(STATES), 'AA', 'AE', 'AP']);
const NON_US_POSTCODE = [
  /\b[A-Z]{1,2}\d[A-Z\d]? ?\d(?!ST|ND|RD|TH)[A-Z]{2}\b/, // United Kingdom (not "W12 3RD")
  /\b[ABCEGHJ-NPRSTVXY]\d[A-Z] ?\d[A-Z]\d\b/, // Canada
];

export function parseTagged(raw: string): TaggedParse {
  return fromTags(tagAddress(raw), raw);
}

/** Joins the cleaned tokens of each tag (in order), after a few repairs of likely tag slips. */
function spans(tagged: Tagged): Map<string, string[]> {
  const { tokens, tags, cores } = tagged;
  const fixed = [...tags];
  for (let i = 0; i < tokens.length; i++) {
    // "P.O. Box 11418", "HC 992 Box 88": digits right after a box designator are the box (not a
    // ZIP or a unit) when no other token is.
    if (
      fixed[i - 1] === 'USPSBoxType' &&
      fixed[i] !== 'USPSBoxType' &&
      /\d/.test(tokens[i]!) &&
      !fixed.includes('USPSBoxID')
    )
      fixed[i] = 'USPSBoxID';
    // "Box 164 A" at the very end: the lone letter belongs to the box number.
    if (i === tokens.length - 1 && fixed[i - 1] === 'USPSBoxID' && /^[A-Z]$/.test(cores[i]!)) fixed[i] = 'USPSBoxID';
    // "Drum Point Road": a house number has a digit (or is a spelled number); a word is the street.
    if (fixed[i] === 'AddressNumber' && !/\d/.test(cores[i]!) && !NUMBER_WORDS.has(cores[i]!)) {
      const rest = fixed.slice(i + 1);
      if (!rest.includes('AddressNumber') && rest.includes('StreetName')) fixed[i] = 'StreetName';
    }
    // "Aurora Avenue North, Seattle": a place name never spans a comma, so a lone directional
    // before the comma, right after the street type, ends the street.
    if (
      fixed[i] === 'PlaceName' &&
      fixed[i + 1] === 'PlaceName' &&
      tokens[i]!.endsWith(',') &&
      DIRECTIONALS[cores[i]!] &&
      fixed[i - 1] === 'StreetNamePostType'
    )
      fixed[i] = 'StreetNamePostDirectional';
  }
  // "RHODE ISLAND": when the tagger calls part of a multi-word state name the state, all of it is.
  for (let i = 0; i < tokens.length; i++) {
    for (const words of MULTI_STATES) {
      const n = words.length;
      if (!words.every((w, k) => cores[i + k] === w)) continue;
      if (fixed.slice(i, i + n).includes('StateName')) fixed.fill('StateName', i, i + n);
      break;
    }
  }
  const out = new Map<string, string[]>();
  tokens.forEach((t, i) => {
    const c = t === '#' || t === '&' ? t : cores[i]!;
    if (!c) return;
    const list = out.get(fixed[i]!);
    if (list) list.push(c);
    else out.set(fixed[i]!, [c]);
  });
  return out;
}

const words = (list: string[] | undefined, table: Readonly<Record<string, string>>) =>
  list?.map((w) => table[w] ?? w).join(' ');

export function fromTags(tagged: Tagged, raw: string): TaggedParse {
  const s = spans(tagged);
  const c: AddressComponents = {};
  const set = <K extends keyof AddressComponents>(k: K, v: string | undefined) => {
    if (v) c[k] = v;
  };
  const number = s.get('AddressNumber');
  set(
    'address_number',
    [...(s.get('AddressNumberPrefix') ?? []), ...(number ?? []), ...(s.get('AddressNumberSuffix') ?? [])].join(' '),
  );
  const preDir = s.get('StreetNamePreDirectional')?.join(' ');
  set('street_name_pre_directional', preDir && (DIRECTIONALS[preDir] ?? preDir));
  set('street_name_pre_type', words(s.get('StreetNamePreType'), SUFFIXES));
  const name = [
    ...(s.get('StreetNamePreModifier') ?? []),
    ...(s.get('StreetName') ?? []),
    ...(s.get('StreetNamePostModifier') ?? []),
  ].join(' ');
  set('street_name', name);
  set('street_name_post_type', words(s.get('StreetNamePostType'), SUFFIXES));
  const postDir = s.get('StreetNamePostDirectional')?.join(' ');
  set('street_name_post_directional', postDir && (DIRECTIONALS[postDir] ?? postDir));
  unit(s, c);
  box(s, c);
  set('place_name', s.get('PlaceName')?.join(' '));
  const state = s.get('StateName')?.join(' ');
  set('state_name', state && (STATES[state] ?? state));
  zip(s, c);
  const country = s.get('CountryName')?.join(' ');
  if (country) c.country = US_NAMES.has(country) ? 'US' : country;
  return { components: c, ...validity(c, raw, tagged) };
}

function unit(s: Map<string, string[]>, c: AddressComponents): void {
  // A building or wing ("Bldg 5") stands in for the unit only when there is no unit.
  const occupied = s.has('OccupancyType') || s.has('OccupancyIdentifier');
  const type = s.get(occupied ? 'OccupancyType' : 'SubaddressType') ?? [];
  const id = s.get(occupied ? 'OccupancyIdentifier' : 'SubaddressIdentifier') ?? [];
  const hash = type.includes('#') || id.includes('#');
  const designator = words(
    type.filter((t) => t !== '#'),
    UNIT_DESIGNATORS,
  );
  if (designator) c.occupancy_type = designator;
  else if (hash) c.occupancy_type = '#';
  // "4 B", "4-B" and "4B" are one identifier.
  const ident = id
    .filter((t) => t !== '#')
    .join('')
    .replace(/[-#]/g, '');
  if (ident) c.occupancy_identifier = ident;
}

function box(s: Map<string, string[]>, c: AddressComponents): void {
  let groupType = s.get('USPSBoxGroupType')?.join(' ');
  let groupId = s.get('USPSBoxGroupID')?.join('');
  // "RR2": route and number in one token.
  const joined = /^(RR|RFD|HC|HCR)(\d+)$/.exec(groupType ?? groupId ?? '');
  if (joined) [groupType, groupId] = [joined[1]!, joined[2]!];
  if (groupType) c.usps_box_group_type = BOX_GROUPS[groupType] ?? groupType;
  if (groupId) c.usps_box_group_id = groupId;
  const type = s.get('USPSBoxType')?.join(' ');
  const id = s
    .get('USPSBoxID')
    ?.filter((t) => t !== '#')
    .join('');
  if (type || id) {
    const po = !type || PO_BOX.has(type);
    c.usps_box_type = po ? (groupType ? 'BOX' : 'PO BOX') : type;
  }
  if (id) c.usps_box_id = id;
}

function zip(s: Map<string, string[]>, c: AddressComponents): void {
  const z = s.get('ZipCode')?.join('');
  const m = z ? /^(\d{5})(?:-?(\d{4}))?$/.exec(z) : null;
  // A four-digit ZIP after a state is one whose leading zero a spreadsheet dropped ("MA 1241").
  if (m) c.zip_code = m[1]!;
  else if (z && /^\d{4}$/.test(z) && c.state_name) c.zip_code = `0${z}`;
  const plus4 = m?.[2] ?? s.get('ZipPlus4')?.join('');
  if (plus4 && /^\d{4}$/.test(plus4)) c.zip_plus4 = plus4;
}

function validity(c: AddressComponents, raw: string, tagged: Tagged): { valid: boolean; reason?: string } {
  if (!/[\p{L}\p{N}]/u.test(raw)) return { valid: false, reason: 'no address text' };
  if (c.country && c.country !== 'US') return { valid: false, reason: `not a US address (country ${c.country})` };
  const upper = raw.toUpperCase();
  if (!c.zip_code && NON_US_POSTCODE.some((p) => p.test(upper)))
    return { valid: false, reason: 'not a US address (postcode is not a ZIP code)' };
  if (c.state_name && !STATE_CODES.has(c.state_name))
    return { valid: false, reason: `not a US address (region ${c.state_name})` };
  if (tagged.tags.includes('ZipCode') && !c.zip_code) return { valid: false, reason: 'ZIP code is not 5 or 9 digits' };
  if (!c.street_name && !c.usps_box_id) return { valid: false, reason: 'no street or PO box found' };
  if (!c.address_number && !c.usps_box_id) return { valid: false, reason: 'no house number or PO box' };
  return { valid: true };
}
