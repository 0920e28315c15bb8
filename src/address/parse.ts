import type { AddressComponents } from './types.ts';
import { DIRECTIONALS, STATES, SUFFIXES, UNIT_DESIGNATORS } from './pub28-tables.ts';

const ROUTE_WORDS = new Set([
  'HWY',
  'HIGHWAY',
  'ROUTE',
  'RTE',
  'RT',
  'ROAD',
  'RD',
  'INTERSTATE',
  'I',
  'US',
  'SR',
  'CR',
  'FM',
  'STATE',
  'COUNTY',
  'HWAY',
  'HIWAY',
]);
// Rural route and highway contract words, with the Pub. 28 form of each.
const BOX_GROUPS: Readonly<Record<string, string>> = {
  RR: 'RR',
  RFD: 'RR',
  RTE: 'RR',
  RT: 'RR',
  ROUTE: 'RR',
  HC: 'HC',
  HCR: 'HC',
};
const MILITARY: Readonly<Record<string, string>> = { AA: 'AA', AE: 'AE', AP: 'AP' };
const STATE_CODES = new Set([...Object.values(STATES), ...Object.keys(MILITARY)]);
const COUNTRY_TAIL = [['UNITED', 'STATES', 'OF', 'AMERICA'], ['UNITED', 'STATES'], ['USA'], ['US']];

/** Splits text into upper-case tokens; commas stay as tokens because they separate parts. */
export function tokenize(raw: string): string[] {
  return raw
    .toUpperCase()
    .replace(/(\d)\.(\d)/g, '$1\u0000$2') // keep grid-style numbers like 39.2
    .replace(/\./g, ' ')
    .replace(/\u0000/g, '.')
    .replace(/#/g, ' # ')
    .replace(/,/g, ' , ')
    .replace(/[;]/g, ' , ')
    .split(/\s+/)
    .filter(Boolean);
}

/**
 * The rule-based parser that came before the tagger (`tagged.ts`), kept as the baseline the
 * benchmark prints beside it. Parses a free-text US address into Pub 28–normalised components.
 */
export function parseAddressByRules(raw: string): AddressComponents {
  const tokens = tokenize(raw);
  const c: AddressComponents = {};
  stripCountry(tokens, c);
  takeZip(tokens, c);
  takeState(tokens, c);
  const { street, city } = splitCity(tokens, c.state_name !== undefined || c.zip_code !== undefined);
  if (city.length) c.place_name = city.join(' ');
  parseStreet(street, c);
  return c;
}

function trimCommas(tokens: string[]): void {
  while (tokens.at(-1) === ',') tokens.pop();
  while (tokens[0] === ',') tokens.shift();
}

function stripCountry(tokens: string[], c: AddressComponents): void {
  trimCommas(tokens);
  for (const tail of COUNTRY_TAIL) {
    const start = tokens.length - tail.length;
    if (start > 2 && tail.every((t, i) => tokens[start + i] === t)) {
      tokens.splice(start);
      c.country = 'US';
      return;
    }
  }
}

function takeZip(tokens: string[], c: AddressComponents): void {
  trimCommas(tokens);
  const last = tokens.at(-1);
  // A four-digit ZIP after a state is one whose leading zero a spreadsheet dropped ("MA 1241").
  const short = last !== undefined && /^\d{4}$/.test(last) && STATE_CODES.has(tokens.at(-2) ?? '');
  const m = last ? (short ? [last, `0${last}`] : /^(\d{5})(?:-?(\d{4}))?$/.exec(last)) : null;
  // "P.O. Box 11418": five digits after a box designator are the box, not a ZIP.
  if (!m || tokens.length < 3 || ['BOX', 'BX', 'POB', '#'].includes(tokens.at(-2)!)) return;
  tokens.pop();
  c.zip_code = m[1]!;
  if (m[2]) c.zip_plus4 = m[2];
}

function takeState(tokens: string[], c: AddressComponents): void {
  trimCommas(tokens);
  // Longest state name first ("DISTRICT OF COLUMBIA", "NEW YORK"), then a two-letter code.
  for (let n = 4; n >= 1; n--) {
    if (tokens.length <= n + 1) continue;
    const words = tokens.slice(-n).join(' ');
    const code = STATES[words] ?? (n === 1 && STATE_CODES.has(words) ? words : undefined);
    if (!code) continue;
    // "WASHINGTON" or "NEW YORK" right after a comma-less street could be a city; require a separator or a city before.
    tokens.splice(tokens.length - n);
    c.state_name = code;
    return;
  }
}

/** The city is the last comma-separated part, or the words after the street's last recognisable piece. */
function splitCity(tokens: string[], hadLastLine: boolean): { street: string[]; city: string[] } {
  trimCommas(tokens);
  // "PO Box 637 Powder Springs", "Acme Inc, P.O. Box 9 St Joseph": the box ends the street part.
  const box = findBox(tokens);
  if (box) {
    const city = tokens.slice(box.end).filter((t) => t !== ',');
    if (hadLastLine || !city.some((t) => /\d/.test(t)))
      return { street: tokens.slice(0, box.end).filter((t) => t !== ','), city };
  }
  const lastComma = tokens.lastIndexOf(',');
  if (lastComma > 0) {
    const tail = tokens.slice(lastComma + 1);
    const head = tokens.slice(0, lastComma).filter((t) => t !== ',');
    // "123 Main St, Apt 4" (no city) — a tail that starts with a unit belongs to the street.
    if (tail.length && !isUnitStart(tail, 0) && !/^\d/.test(tail[0]!) && leadLength(tail) === 0)
      return { street: head, city: tail };
    // "Bolton Road, NW Atlanta", "Drive, Ste 300 Reston": a directional or unit, then the city.
    const lead = leadLength(tail);
    const city = tail.slice(lead);
    if (lead > 0 && hadLastLine && city.length && !city.some((t) => /\d/.test(t)))
      return { street: [...head, ...tail.slice(0, lead)], city };
    return { street: [...head, ...tail], city: [] };
  }
  // "SOLDOTNA, AK 99669": no number and no box before the state means there is only a city.
  if (hadLastLine && !/^\d/.test(tokens[0] ?? '') && !/\bBOX\b/.test(tokens.join(' ')))
    return { street: [], city: tokens };
  // Without a state or ZIP, a city can only follow the street's suffix ("1755 Howard St Des Plaines");
  // words with digits there are a unit ("801 S Canal St C1S"), not a city.
  if (!hadLastLine) {
    const end = streetEnd(tokens, true);
    const rest = tokens.slice(end);
    return end <= 0 || rest.some((t) => /\d/.test(t))
      ? { street: tokens, city: [] }
      : { street: tokens.slice(0, end), city: rest };
  }
  const end = streetEnd(tokens, false);
  return { street: tokens.slice(0, end), city: tokens.slice(end) };
}

// Street types that are rarely the first or last word of a place name (unlike PARK, LAKE, FORT,
// BEACH, FOREST, MILL, HEIGHTS...).
const STRONG_SUFFIXES = new Set([
  'ST',
  'AVE',
  'RD',
  'DR',
  'BLVD',
  'LN',
  'CT',
  'PL',
  'PKWY',
  'HWY',
  'CIR',
  'TER',
  'TRL',
  'SQ',
  'WAY',
  'CV',
  'EXPY',
]);

/** Tokens of a post-directional and/or unit at the start of `tail` (0 if it starts otherwise). */
function leadLength(tail: string[]): number {
  let i = 0;
  // Abbreviated only: "North Las Vegas" is a city.
  if (DIRECTIONALS[tail[0] ?? ''] && tail[0]!.length <= 2 && tail.length > 1) i = 1;
  else if (tail[0]?.length === 1 && DIRECTIONALS[`${tail[0]}${tail[1]}`] && tail.length > 2) i = 2;
  if (i < tail.length && isUnitStart(tail, i))
    i = Math.min(tail.length, i + (tail[i] === '#' ? 2 : unitLength(tail, i)));
  return i;
}

function isUnitStart(tokens: string[], i: number): boolean {
  const t = tokens[i]!;
  return t === '#' || (UNIT_DESIGNATORS[t] !== undefined && (tokens[i + 1] !== undefined || !needsRange(t)));
}

function needsRange(t: string): boolean {
  return ![
    'BSMT',
    'BASEMENT',
    'FRNT',
    'FRONT',
    'LBBY',
    'LOBBY',
    'LOWR',
    'LOWER',
    'OFC',
    'OFFICE',
    'PH',
    'PENTHOUSE',
    'REAR',
    'SIDE',
    'UPPR',
    'UPPER',
  ].includes(t);
}

/**
 * Without commas: the street ends after its suffix (+ post-directional, + unit), else after the
 * number and one word.
 */
function streetEnd(tokens: string[], suffixMayEnd: boolean): number {
  let end = -1;
  let strongEnd = -1;
  for (let i = 2; i < tokens.length - (suffixMayEnd ? 0 : 1); i++) {
    if (!SUFFIXES[tokens[i]!]) continue;
    end = i + 1;
    if (STRONG_SUFFIXES.has(SUFFIXES[tokens[i]!]!)) strongEnd = i + 1;
  }
  // "Green Bay Road Highland Park", "Western Ave Park Forest": words that are both a street type
  // and common in place names end the street only when no plainer street type does.
  if (strongEnd > 0) end = strongEnd;
  if (end < 0) return suffixMayEnd ? -1 : Math.min(tokens.length, /^\d/.test(tokens[0] ?? '') ? 3 : tokens.length);
  // "Hwy N Sebastopol" has a post-directional; in "Main St West Lafayette" the word starts the city.
  const dir = tokens[end] ?? '';
  if (DIRECTIONALS[dir] && dir.length <= 2 && end < tokens.length - 1) end++;
  if (end < tokens.length && isUnitStart(tokens, end))
    end = Math.min(tokens.length, end + (tokens[end] === '#' ? 2 : unitLength(tokens, end)));
  return end;
}

function unitLength(tokens: string[], i: number): number {
  if (!needsRange(tokens[i]!)) return 1;
  const next = tokens[i + 1] ?? '';
  const after = tokens[i + 2] ?? '';
  return /^\d+$/.test(next) && /^[A-Z]$/.test(after) ? 3 : 2;
}

function parseStreet(input: string[], c: AddressComponents): void {
  let tokens = input.filter((t) => t !== ',');
  const box = findBox(tokens);
  if (box) {
    Object.assign(c, box.components);
    // A street before the box ("110 West Edwards PO Box 5000") is kept; a firm name is not parsed.
    tokens = /^\d/.test(tokens[0] ?? '') && box.start >= 2 ? tokens.slice(0, box.start) : [];
    if (!tokens.length) return;
  }
  let i = 0;
  if (/^\d/.test(tokens[0] ?? '') || /^[NSEW]\d/.test(tokens[0] ?? '')) {
    c.address_number = tokens[0]!;
    i = 1;
    if (/^\d+\/\d+$/.test(tokens[1] ?? '')) {
      c.address_number += ` ${tokens[1]}`;
      i = 2;
    }
  }
  // "15th Floor", "Ground Floor": the identifier comes before the designator.
  const last = tokens.at(-1);
  if (tokens.length - i >= 3 && (last === 'FLOOR' || last === 'FL')) {
    c.occupancy_type = 'FL';
    c.occupancy_identifier = tokens.at(-2)!;
    tokens = tokens.slice(0, -2);
  }
  let end = tokens.length;
  for (let u = i + 1; u < tokens.length; u++) {
    if (isUnitStart(tokens, u)) {
      takeUnit(tokens.slice(u), c);
      end = u;
      break;
    }
  }
  parseStreetName(tokens.slice(i, end), c);
}

interface BoxMatch {
  start: number;
  end: number;
  components: AddressComponents;
}

/**
 * A PO box ("PO Box 12", "P.O. Box #12", "POB 12", "Post Office Box 12", "Box 12") or a rural
 * route box ("RR 2 Box 348", "RR2 BOX 348", "RFD 2 Box 5", "HC 1 Box 7") anywhere in the tokens.
 * A bare "Box" needs an identifier with a digit, so "Box Elder Rd" stays a street.
 */
export function findBox(tokens: string[]): BoxMatch | undefined {
  for (let i = 0; i < tokens.length; i++) {
    const group = boxGroupAt(tokens, i);
    const at = group ? group.next : i;
    const box = boxAt(tokens, at, group !== undefined);
    if (!box) continue;
    const components: AddressComponents = group
      ? { usps_box_group_type: group.type, usps_box_group_id: group.id, usps_box_type: 'BOX' }
      : { usps_box_type: 'PO BOX' };
    components.usps_box_id = box.id;
    return { start: i, end: box.end, components };
  }
  return undefined;
}

function boxGroupAt(tokens: string[], i: number): { type: string; id: string; next: number } | undefined {
  const joined = /^(RR|RFD|HC|HCR)(\d+)$/.exec(tokens[i]!);
  let type: string | undefined;
  let id: string | undefined;
  let next = i + 1;
  if (joined) [type, id] = [BOX_GROUPS[joined[1]!], joined[2]];
  else if (tokens[i] === 'RURAL' && tokens[i + 1] === 'ROUTE') [type, id, next] = ['RR', tokens[i + 2], i + 3];
  else if (BOX_GROUPS[tokens[i]!]) [type, id, next] = [BOX_GROUPS[tokens[i]!], tokens[i + 1], i + 2];
  if (!type || !id || !/^\d+$/.test(id)) return undefined;
  if (tokens[next] === ',') next++;
  return { type, id, next };
}

const PO_PREFIXES: readonly (readonly string[])[] = [
  ['POST', 'OFFICE', 'BOX'],
  ['P', 'O', 'BOX'],
  ['PO', 'BOX'],
  ['PO', 'BX'],
  ['POB'],
  ['BOX'],
  ['BX'],
];

function boxAt(tokens: string[], i: number, afterGroup: boolean): { id: string; end: number } | undefined {
  const prefix = PO_PREFIXES.find((p) => p.every((w, k) => tokens[i + k] === w));
  if (!prefix) return undefined;
  let j = i + prefix.length;
  if (tokens[j] === '#') j++;
  const id = tokens[j];
  const bare = prefix.length === 1 && prefix[0] !== 'POB';
  if (!id || !/^[A-Z0-9-]+$/.test(id) || (!/\d/.test(id) && ((bare && !afterGroup) || id.length > 1))) return undefined;
  // "Box 164 A": a lone letter after the number belongs to the box when nothing follows it.
  if (/^\d+$/.test(id) && /^[A-Z]$/.test(tokens[j + 1] ?? '') && j + 2 === tokens.length)
    return { id: `${id}${tokens[j + 1]}`, end: j + 2 };
  return { id, end: j + 1 };
}

function takeUnit(tokens: string[], c: AddressComponents): void {
  const t = tokens[0]!;
  c.occupancy_type = t === '#' ? '#' : UNIT_DESIGNATORS[t]!;
  const rest = tokens.slice(1).filter((x) => x !== '#');
  // "4 B", "4-B" and "4B" are one identifier.
  if (rest.length) c.occupancy_identifier = rest.join('').replace(/-/g, '');
}

function parseStreetName(tokens: string[], c: AddressComponents): void {
  const words = [...tokens];
  // "801 S Canal St C1S", "1020 W Bryn Mawr 211": a unit id after the street, without designator
  // (not the number of a route: "US HWY 50", "COUNTY ROAD 5").
  const tail = words.at(-1) ?? '';
  const before = words.at(-2) ?? '';
  if (
    words.length >= 3 &&
    !c.occupancy_identifier &&
    /\d/.test(tail) &&
    !/^\d+(ST|ND|RD|TH)$/.test(tail) &&
    !ROUTE_WORDS.has(before)
  ) {
    c.occupancy_identifier = words.pop()!;
  }
  if (words.length >= 2 && DIRECTIONALS[words[0]!] && !(words.length === 2 && SUFFIXES[words[1]!])) {
    c.street_name_pre_directional = DIRECTIONALS[words.shift()!]!;
  }
  if (words.length >= 2 && DIRECTIONALS[words.at(-1)!] && (SUFFIXES[words.at(-2)!] || words.length >= 3)) {
    c.street_name_post_directional = DIRECTIONALS[words.pop()!]!;
  }
  if (words.length >= 2 && SUFFIXES[words.at(-1)!]) c.street_name_post_type = SUFFIXES[words.pop()!]!;
  if (words.length) c.street_name = words.join(' ');
}
