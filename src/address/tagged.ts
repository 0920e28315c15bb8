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
const MULTI_FIRST = new Set(MULTI_STATES.map((words) => words[0]!));
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
// Pub. 28 C2: the secondary unit designators that take no number.
export const NO_NUMBER_UNITS = new Set(['BSMT', 'FRNT', 'LBBY', 'LOWR', 'OFC', 'PH', 'REAR', 'SIDE', 'UPPR']);
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
    // before the comma, right after the street type, ends the street; "Elm St Front, Dayton": a
    // unit that takes no number there is the unit.
    if (
      fixed[i] === 'PlaceName' &&
      fixed[i + 1] === 'PlaceName' &&
      tokens[i]!.endsWith(',') &&
      fixed[i - 1] === 'StreetNamePostType'
    ) {
      if (DIRECTIONALS[cores[i]!]) fixed[i] = 'StreetNamePostDirectional';
      else if (NO_NUMBER_UNITS.has(UNIT_DESIGNATORS[cores[i]!] ?? '')) fixed[i] = 'OccupancyIdentifier';
    }
  }
  // "RHODE ISLAND": when the tagger calls part of a multi-word state name the state, all of it is.
  const inMultiState = new Uint8Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    if (!MULTI_FIRST.has(cores[i]!)) continue;
    for (const words of MULTI_STATES) {
      const n = words.length;
      if (!words.every((w, k) => cores[i + k] === w)) continue;
      inMultiState.fill(1, i, i + n);
      if (fixed.slice(i, i + n).includes('StateName')) fixed.fill('StateName', i, i + n);
      break;
    }
  }
  repairBoxes(tokens, cores, fixed);
  repairStates(cores, fixed, inMultiState);
  repairTrailingState(cores, fixed);
  repairLeadingPlace(fixed);
  repairPlaceParts(tokens, cores, fixed);
  repairRouteNumber(tokens, fixed);
  repairStreetEnd(cores, fixed);
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

// The one-word route and highway-contract box groups (RR, RFD, HC, HCR, ROUTE, RTE, RT).
const ROUTE_WORDS = new Set(Object.keys(BOX_GROUPS).filter((k) => !k.includes(' ')));
const BOX_WORDS = new Set(['BOX', 'BX']);
const BOX_TAGS = new Set(['USPSBoxType', 'USPSBoxID', 'USPSBoxGroupType', 'USPSBoxGroupID']);

/** Box repairs: a box number is one token, and "RR 422 Box" names box 422 on its route. */
function repairBoxes(tokens: string[], cores: string[], fixed: string[]): void {
  const n = tokens.length;
  // "PO Box 9580 Rancho Santa Fe": a word after the box number (other than a one-letter suffix,
  // "Box 164 A") is not part of it; it takes the tag of what follows the box (the city).
  for (let i = 1; i < n; i++) {
    if (fixed[i] !== 'USPSBoxID' || fixed[i - 1] !== 'USPSBoxID' || !/\d/.test(cores[i - 1]!)) continue;
    if (/\d/.test(cores[i]!) || cores[i]!.length < 2 || tokens[i] === '#') continue;
    let j = i;
    while (j < n && fixed[j] === 'USPSBoxID') j++;
    fixed.fill(j < n ? fixed[j]! : 'PlaceName', i, j);
  }
  // "PO Box 9580 Rancho Santa Fe": with no house number there is no street, so the words between
  // the box number and the city are the city.
  const lastBox = fixed.lastIndexOf('USPSBoxID');
  if (lastBox >= 0 && !fixed.includes('AddressNumber')) {
    let j = lastBox + 1;
    while (j < n && fixed[j] === 'StreetName' && !/\d/.test(cores[j]!) && !tokens[j - 1]!.endsWith(',')) j++;
    if (j > lastBox + 1 && fixed[j] === 'PlaceName' && !tokens[j - 1]!.endsWith(','))
      fixed.fill('PlaceName', lastBox + 1, j);
  }
  if (lastBox >= 0) return;
  // "RR 422 Box," / "Route 7 RR 7 Box": a box word that ends its part with no number after it
  // follows its number, which follows the route.
  for (let i = 2; i < n; i++) {
    const endsPart = i === n - 1 || tokens[i]!.endsWith(',');
    if (!BOX_WORDS.has(cores[i]!) || !endsPart || !/^\d+$/.test(cores[i - 1]!)) continue;
    if (!ROUTE_WORDS.has(cores[i - 2]!)) continue;
    fixed[i - 2] = BOX_TAGS.has(fixed[i - 2]!) ? fixed[i - 2]! : 'USPSBoxGroupType';
    fixed[i - 1] = 'USPSBoxID';
    fixed[i] = 'USPSBoxType';
    return;
  }
}

/**
 * A state is a state: a token tagged as the state that is no state but a street type right after
 * the street name ("123 W Hastings St 123456789") ends the street.
 */
function repairStates(cores: string[], fixed: string[], inMultiState: Uint8Array): void {
  for (let i = 1; i < cores.length; i++) {
    if (fixed[i] !== 'StateName' || inMultiState[i] || STATES[cores[i]!] || STATE_CODES.has(cores[i]!)) continue;
    if (SUFFIXES[cores[i]!] && fixed[i - 1] === 'StreetName') fixed[i] = 'StreetNamePostType';
  }
}

/**
 * "EAST PROVIDENCE RHODE ISLAND 02914": with no state found, a state name that ends the city (just
 * before the ZIP or the end) is the state; a city of its own ("Washington") is left alone.
 */
function repairTrailingState(cores: string[], fixed: string[]): void {
  if (fixed.includes('StateName')) return;
  let end = fixed.length;
  while (end > 0 && (fixed[end - 1] === 'ZipCode' || fixed[end - 1] === 'CountryName')) end--;
  for (const words of [...MULTI_STATES, [cores[end - 1]!]]) {
    const from = end - words.length;
    if (from < 1 || !words.every((w, k) => cores[from + k] === w) || !STATES[words.join(' ')]) continue;
    if (fixed.slice(from - 1, end).every((t) => t === 'PlaceName')) fixed.fill('StateName', from, end);
    return;
  }
}

/**
 * The city is one run of words, the last before the state or ZIP. In "Legacy Mount Pleasant
 * Apartments, Apt B2L Mount Pleasant, SC" an earlier run is a building's name; in "Goddard Drive,
 * Malmstrom A F B, MT" a part that ends in the city and has no digit or unit word is all city.
 */
function repairPlaceParts(tokens: string[], cores: string[], fixed: string[]): void {
  const last = fixed.lastIndexOf('PlaceName');
  if (last < 0) return;
  let first = last;
  while (first > 0 && fixed[first - 1] === 'PlaceName') first--;
  // The comma-separated part the city ends: from just after the previous comma.
  let from = first;
  while (from > 0 && !tokens[from - 1]!.endsWith(',')) from--;
  if (from > 0 && from < first) {
    const loose = fixed.slice(from, first).every((t) => /^(Occupancy|Subaddress|NotAddress|PlaceName)/.test(t));
    const plain = cores.slice(from, first).every((c) => /^[A-Z]/.test(c) && !UNIT_DESIGNATORS[c]);
    if (loose && plain) fixed.fill('PlaceName', (first = from), last);
  }
  for (let i = 0; i < first; i++) if (fixed[i] === 'PlaceName') fixed[i] = 'BuildingName';
}

/**
 * "Route # A", "Highway # 54": after a route or highway type, `#` and what follows it name the
 * road (when nothing else does), not a unit; "Hghwy 54 And East Hckry": "and" between street
 * words joins two streets.
 */
function repairRouteNumber(tokens: string[], fixed: string[]): void {
  for (let i = 1; i < tokens.length; i++) {
    if ((tokens[i] === '&' || /^and$/i.test(tokens[i]!)) && fixed[i] === 'StreetName' && fixed[i - 1] === 'StreetName')
      fixed[i] = 'IntersectionSeparator';
  }
  const hash = tokens.indexOf('#');
  if (hash < 1 || fixed[hash - 1] !== 'StreetNamePreType' || hash + 1 >= tokens.length) return;
  if (fixed.some((t, i) => t === 'StreetName' && i !== hash)) return;
  if (/^Occupancy/.test(fixed[hash + 1]!)) fixed.fill('StreetName', hash, hash + 2);
}

/**
 * "6010 Lake Ris Place, Salem": a street name with no street type is not followed by a building
 * whose name ends in a street type; those words end the street. And a street needs a name.
 */
function repairStreetEnd(cores: string[], fixed: string[]): void {
  // "1482 South Ave Apt 29C": a directional with no other street name is the name.
  const dir = fixed.indexOf('StreetNamePreDirectional');
  const type = fixed[dir + 1];
  if (dir > 0 && !fixed.includes('StreetName') && (type === 'StreetNamePreType' || type === 'StreetNamePostType')) {
    if (fixed[dir - 1] === 'AddressNumber' && SUFFIXES[cores[dir + 1]!] && fixed[dir + 2] !== 'StreetName') {
      fixed[dir] = 'StreetName';
      fixed[dir + 1] = 'StreetNamePostType';
    }
  }
  if (fixed.includes('StreetNamePostType')) return;
  const a = fixed.indexOf('BuildingName');
  // "4526 Park Mer Place, Burlington": after the house number, with no street name at all.
  const afterNumber = fixed[a - 1] === 'AddressNumber' && !fixed.includes('StreetName');
  if (a < 1 || (fixed[a - 1] !== 'StreetName' && !afterNumber)) return;
  let b = a;
  while (b + 1 < fixed.length && fixed[b + 1] === 'BuildingName') b++;
  if (!SUFFIXES[cores[b]!] || b - a > 2) return;
  fixed.fill('StreetName', a, b);
  fixed[b] = 'StreetNamePostType';
}

/**
 * "SOS SECURITY IL CHICAGO BRANCH 30 S WACKER DR ... CHICAGO IL 60606": a city or state before the
 * house number, when one follows the street too, is part of the name or firm above the street.
 */
function repairLeadingPlace(fixed: string[]): void {
  const place = (t: string | undefined) => t === 'PlaceName' || t === 'StateName';
  let street = 0;
  while (street < fixed.length && fixed[street] !== 'AddressNumber' && fixed[street] !== 'USPSBoxID') street++;
  let later = street;
  while (later < fixed.length && !place(fixed[later])) later++;
  if (street === 0 || later === fixed.length) return;
  for (let i = 0; i < street; i++) if (place(fixed[i])) fixed[i] = 'Recipient';
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
    ...(s.get('StreetName')?.filter((t) => t !== '#') ?? []),
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
  const typeWords = type.filter((t) => t !== '#');
  // Pub. 28 designators are one word; "Floor Conference Room" is a description, kept as written.
  const designator = typeWords.length === 1 ? words(typeWords, UNIT_DESIGNATORS) : typeWords.join(' ');
  // "4 B", "4-B" and "4B" are one identifier.
  const ident = id
    .filter((t) => t !== '#')
    .join('')
    .replace(/[-#]/g, '');
  // "Avenue Frnt", "18th Rear": a designator that takes no number is the unit itself, so it keys.
  const bare = UNIT_DESIGNATORS[ident || designator || ''];
  if (bare && NO_NUMBER_UNITS.has(bare) && (!ident || !designator)) {
    c.occupancy_identifier = bare;
    return;
  }
  if (designator) c.occupancy_type = designator;
  else if (hash) c.occupancy_type = '#';
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
