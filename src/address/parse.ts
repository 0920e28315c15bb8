import type { AddressComponents } from './types.ts';
import { STATES, SUFFIXES, UNIT_DESIGNATORS } from './pub28-tables.ts';

const DIRECTIONALS: Readonly<Record<string, string>> = {
  N: 'N', S: 'S', E: 'E', W: 'W', NE: 'NE', NW: 'NW', SE: 'SE', SW: 'SW',
  NORTH: 'N', SOUTH: 'S', EAST: 'E', WEST: 'W', NORTHEAST: 'NE', NORTHWEST: 'NW', SOUTHEAST: 'SE', SOUTHWEST: 'SW',
};
const ROUTE_WORDS = new Set(['HWY', 'HIGHWAY', 'ROUTE', 'RTE', 'RT', 'ROAD', 'RD', 'INTERSTATE', 'I', 'US', 'SR', 'CR', 'FM', 'STATE', 'COUNTY', 'HWAY', 'HIWAY']);
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

/** Parses a free-text US address into Pub 28–normalised components. Never throws. */
export function parseAddress(raw: string): AddressComponents {
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
  const m = last ? /^(\d{5})(?:-?(\d{4}))?$/.exec(last) : null;
  if (!m || tokens.length < 3) return;
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
  const lastComma = tokens.lastIndexOf(',');
  if (lastComma > 0) {
    const tail = tokens.slice(lastComma + 1);
    const head = tokens.slice(0, lastComma).filter((t) => t !== ',');
    // "123 Main St, Apt 4" (no city) — a tail that starts with a unit belongs to the street.
    if (tail.length && !isUnitStart(tail, 0) && !/^\d/.test(tail[0]!)) return { street: head, city: tail };
    return { street: [...head, ...tail], city: [] };
  }
  // "SOLDOTNA, AK 99669": no number and no box before the state means there is only a city.
  if (hadLastLine && !/^\d/.test(tokens[0] ?? '') && !/\bBOX\b/.test(tokens.join(' '))) return { street: [], city: tokens };
  // Without a state or ZIP, a city can only follow the street's suffix ("1755 Howard St Des Plaines");
  // words with digits there are a unit ("801 S Canal St C1S"), not a city.
  if (!hadLastLine) {
    const end = streetEnd(tokens, true);
    const rest = tokens.slice(end);
    return end <= 0 || rest.some((t) => /\d/.test(t)) ? { street: tokens, city: [] } : { street: tokens.slice(0, end), city: rest };
  }
  const end = streetEnd(tokens, false);
  return { street: tokens.slice(0, end), city: tokens.slice(end) };
}

function isUnitStart(tokens: string[], i: number): boolean {
  const t = tokens[i]!;
  return t === '#' || (UNIT_DESIGNATORS[t] !== undefined && (tokens[i + 1] !== undefined || !needsRange(t)));
}

function needsRange(t: string): boolean {
  return !['BSMT', 'BASEMENT', 'FRNT', 'FRONT', 'LBBY', 'LOBBY', 'LOWR', 'LOWER', 'OFC', 'OFFICE', 'PH', 'PENTHOUSE', 'REAR', 'SIDE', 'UPPR', 'UPPER'].includes(t);
}

/** Without commas: the street ends after its suffix (+ post-directional, + unit), else after the number and one word. */
function streetEnd(tokens: string[], suffixMayEnd: boolean): number {
  let end = -1;
  for (let i = 2; i < tokens.length - (suffixMayEnd ? 0 : 1); i++) if (SUFFIXES[tokens[i]!]) end = i + 1;
  if (end < 0) return suffixMayEnd ? -1 : Math.min(tokens.length, /^\d/.test(tokens[0] ?? '') ? 3 : tokens.length);
  if (DIRECTIONALS[tokens[end] ?? ''] && end < tokens.length - 1) end++;
  if (end < tokens.length && isUnitStart(tokens, end)) end = Math.min(tokens.length, end + (tokens[end] === '#' ? 2 : unitLength(tokens, end)));
  return end;
}

function unitLength(tokens: string[], i: number): number {
  if (!needsRange(tokens[i]!)) return 1;
  const next = tokens[i + 1] ?? '';
  const after = tokens[i + 2] ?? '';
  return /^\d+$/.test(next) && /^[A-Z]$/.test(after) ? 3 : 2;
}

function parseStreet(input: string[], c: AddressComponents): void {
  let tokens = input;
  if (takePoBox(tokens, c)) return;
  let i = 0;
  if (/^\d/.test(tokens[0] ?? '') || /^[NSEW]\d/.test(tokens[0] ?? '')) {
    c.address_number = tokens[0]!;
    i = 1;
    if (/^\d+\/\d+$/.test(tokens[1] ?? '')) { c.address_number += ` ${tokens[1]}`; i = 2; }
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
    if (isUnitStart(tokens, u)) { takeUnit(tokens.slice(u), c); end = u; break; }
  }
  parseStreetName(tokens.slice(i, end), c);
}

function takePoBox(tokens: string[], c: AddressComponents): boolean {
  const text = tokens.join(' ');
  const m = /^(?:P O|PO|POST OFFICE)? ?BOX (?:# )?(\S+)/.exec(text);
  if (!m) return false;
  c.usps_box_type = 'PO BOX';
  c.usps_box_id = m[1]!;
  return true;
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
  if (words.length >= 3 && !c.occupancy_identifier && /\d/.test(tail) && !/^\d+(ST|ND|RD|TH)$/.test(tail) && !ROUTE_WORDS.has(before)) {
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
