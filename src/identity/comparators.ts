import { areNicknames } from './nicknames.ts';
import { editDistance, jaroWinklerAbove } from './strings.ts';
import type { PreparedRecord } from './types.ts';

/** -1 = a value is missing on either side (no evidence); 0 = disagree; higher = closer. */
export type Level = number;

export interface ComparisonContext {
  nicknames: Map<string, number[]>;
  /** Optional memo of given-name levels (a run compares the same common names millions of times). */
  givenLevels?: PairMemo;
}

/**
 * Levels of string pairs already compared: x -> y -> level. Holds at most `limit` entries and
 * then only answers from what it has (a full memo is still right, just no longer growing).
 */
export class PairMemo {
  private readonly map = new Map<string, Map<string, Level>>();
  private readonly limit: number;
  private size = 0;
  constructor(limit: number) {
    this.limit = limit;
  }
  get(x: string, y: string): Level | undefined {
    return this.map.get(x)?.get(y);
  }
  set(x: string, y: string, level: Level): void {
    if (this.size >= this.limit) return;
    let inner = this.map.get(x);
    if (inner === undefined) {
      inner = new Map();
      this.map.set(x, inner);
    }
    inner.set(y, level);
    this.size++;
  }
}

export interface FieldComparator {
  name: string;
  /** Level labels, index = level (0 is always disagreement). */
  levels: readonly string[];
  compare(a: PreparedRecord, b: PreparedRecord, ctx: ComparisonContext): Level;
  /** The value whose frequency adjusts an exact agreement (term-frequency adjustment). */
  tfValue?: (r: PreparedRecord) => string;
  /** A personal attribute (not a location or contact point): see the EM bound in fellegi-sunter.ts. */
  personal?: boolean;
}

const NAME_LEVELS = ['different', 'similar', 'close', 'exact'] as const;

function swapped(a: PreparedRecord, b: PreparedRecord): boolean {
  return a.given !== '' && a.family !== '' && a.given === b.family && a.family === b.given;
}

/** Given names: exact (or given/family swap), nickname or JW >= 0.92, JW >= 0.8 or initial. */
export function compareGiven(a: PreparedRecord, b: PreparedRecord, ctx: ComparisonContext): Level {
  if (a.given === '' || b.given === '') return -1;
  if (a.given === b.given || swapped(a, b)) return 3;
  const direct = givenLevelOf(a.given, b.given, ctx);
  return direct >= 2 ? direct : Math.max(direct, swappedLevel(a, b));
}

function givenLevelOf(x: string, y: string, ctx: ComparisonContext): Level {
  const memo = ctx.givenLevels;
  if (memo === undefined) return givenNameLevel(x, y, ctx);
  let level = memo.get(x, y);
  if (level === undefined) {
    level = givenNameLevel(x, y, ctx);
    memo.set(x, y, level);
  }
  return level;
}

/**
 * Given and family names swapped, each up to a typo (`sopihe nguyen` / `nguyen sophie`): the
 * weaker of the two crossed comparisons, at most `close` (an exact swap is handled as exact).
 * Both names must be present on both sides: a lone name that equals the other's family name
 * is common among relatives.
 */
function swappedLevel(a: PreparedRecord, b: PreparedRecord): Level {
  if (a.given === '' || a.family === '' || b.given === '' || b.family === '') return 0;
  if (crossSimilarity(a.given, b.family) < 2) return 0;
  return crossSimilarity(a.family, b.given) >= 2 ? 2 : 0;
}

function crossSimilarity(x: string, y: string): Level {
  if (x === '' || y === '') return 0;
  if (x === y) return 3;
  if (x.length < 2 || y.length < 2) return 0;
  return jaroWinklerAbove(x, y, 0.9) >= 0.9 ? 2 : 0;
}

// Two different given names: nickname, else by similarity.
function givenNameLevel(x: string, y: string, ctx: ComparisonContext): Level {
  return areNicknames(ctx.nicknames, x, y) ? 2 : similarity(x, y);
}

export function compareFamily(a: PreparedRecord, b: PreparedRecord): Level {
  if (a.family === '' || b.family === '') return -1;
  if (a.family === b.family || swapped(a, b)) return 3;
  const direct = similarity(a.family, b.family);
  return direct >= 2 ? direct : Math.max(direct, swappedLevel(a, b));
}

function similarity(x: string, y: string): Level {
  // A lone initial agrees weakly with any name starting with it.
  if ((x.length === 1 || y.length === 1) && x[0] === y[0]) return 1;
  const jw = jaroWinklerAbove(x, y, 0.8);
  if (jw >= 0.92) return 2;
  return jw >= 0.8 ? 1 : 0;
}

/**
 * Dates: exact; day/month swapped or one digit wrong/transposed; two edits; a partial date (year,
 * or year and month, only) that agrees with the other as far as it goes; else different.
 */
export function compareDob(a: PreparedRecord, b: PreparedRecord): Level {
  const x = a.dob;
  const y = b.dob;
  if (x === '' || y === '') return -1;
  if (x === y) return DOB_EXACT;
  const partial = partialDate(x, y);
  if (partial !== -1) return partial;
  if (dayMonthSwapped(x, y)) return DOB_SWAP_OR_TYPO;
  const d = editDistance(x, y, 2);
  if (d <= 1) return DOB_SWAP_OR_TYPO;
  return d === 2 ? DOB_TWO_EDITS : 0;
}

export const DOB_PARTIAL = 1;
export const DOB_TWO_EDITS = 2;
export const DOB_SWAP_OR_TYPO = 3;
export const DOB_EXACT = 4;

/** A date of birth plainly different: no agreement, or two edits apart (not a partial date). */
export function dobDiffers(level: Level): boolean {
  return level === 0 || level === DOB_TWO_EDITS;
}

// YYYY or YYYYMM against a longer date: partial when it agrees on the digits it has, else
// different; -1 when neither side is a partial date.
function partialDate(x: string, y: string): Level {
  if (x.length === y.length) return -1;
  const [short, long] = x.length < y.length ? [x, y] : [y, x];
  if (short.length !== 4 && short.length !== 6) return -1;
  return long.startsWith(short) ? DOB_PARTIAL : 0;
}

// YYYYMMDD against YYYYDDMM (compared in place: this runs for most candidate pairs).
function dayMonthSwapped(x: string, y: string): boolean {
  if (x.length !== 8 || y.length !== 8) return false;
  for (let i = 0; i < 4; i++) if (x.charCodeAt(i) !== y.charCodeAt(i)) return false;
  return (
    x.charCodeAt(4) === y.charCodeAt(6) &&
    x.charCodeAt(5) === y.charCodeAt(7) &&
    x.charCodeAt(6) === y.charCodeAt(4) &&
    x.charCodeAt(7) === y.charCodeAt(5)
  );
}

/** Identifiers (national id, street number, postcode): exact, one edit, (optionally) two edits. */
function identifierComparator(get: (r: PreparedRecord) => string, maxEdits: 1 | 2): FieldComparator['compare'] {
  return (a, b) => {
    const x = get(a);
    const y = get(b);
    if (x === '' || y === '') return -1;
    if (x === y) return maxEdits + 1;
    const d = editDistance(x, y, maxEdits);
    return d > maxEdits ? 0 : maxEdits + 1 - d;
  };
}

/** Free text: exact, JW >= 0.92, JW >= 0.8. */
function compareText(x: string, y: string): Level {
  if (x === '' || y === '') return -1;
  if (x === y) return 3;
  const jw = jaroWinklerAbove(x, y, 0.8);
  if (jw >= 0.92) return 2;
  return jw >= 0.8 ? 1 : 0;
}

/** Emails: exact canonical form; same local part at another provider. */
export function compareEmail(a: PreparedRecord, b: PreparedRecord): Level {
  if (a.email === '' || b.email === '') return -1;
  if (a.email === b.email) return 2;
  return sameLocalPart(a.email, b.email) ? 1 : 0;
}

// b starts with a's local part and its `@` (compared in place: no substring per pair).
function sameLocalPart(a: string, b: string): boolean {
  const at = a.indexOf('@');
  if (at <= 0 || b.length <= at) return false;
  for (let i = 0; i <= at; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return false;
  return true;
}

/** Phones: exact E.164; one digit wrong or transposed. */
export function comparePhone(a: PreparedRecord, b: PreparedRecord): Level {
  if (a.phone === '' || b.phone === '') return -1;
  if (a.phone === b.phone) return 2;
  return editDistance(a.phone, b.phone, 1) <= 1 ? 1 : 0;
}

/**
 * Street address (number + street): one comparator, not one per part, because the parts are
 * strongly correlated (two records at the same number and street are not twice as likely to
 * match). Same = number and street agree (street up to a typo); close = one of them slightly
 * off; same_street = street alone agrees.
 */
export function compareStreetAddress(a: PreparedRecord, b: PreparedRecord): Level {
  let street: Level;
  if (a.street !== '' && b.street !== '') {
    street = streetLevel(a.street, b.street);
    // The parsed streets differ: the lines as typed may still agree (a parser misread one side,
    // e.g. `coplanddrive` read as a name, `copland drive` as name + type).
    if (street < 2) street = Math.max(street, rawLevel(a.streetRaw, b.streetRaw)) as Level;
  } else {
    // No street parsed on a side (a line the parser cannot read): the lines as typed compare.
    if (a.streetRaw === '' || b.streetRaw === '') return -1;
    street = rawLevel(a.streetRaw, b.streetRaw);
  }
  // Address lines swapped: line 1 of one side agrees with line 2 of the other (the other line
  // swapped too, or replaced: `dumas street / dromard` and `dromard / cussen street`).
  if (street === 0 && linesCrossed(a, b)) street = 1;
  if (street === 0) return 0;
  const number =
    a.streetNumber === '' || b.streetNumber === ''
      ? -1
      : a.streetNumber === b.streetNumber
        ? 2
        : editDistance(a.streetNumber, b.streetNumber, 1) <= 1
          ? 1
          : 0;
  if (number === 2) return street === 2 ? 3 : 2;
  if (number === 1 || number === -1) return 2;
  return 1;
}

// Letters-only lines: equal = same street, JW >= 0.92 = similar. Lengths too far apart for that
// JW are rejected first (most candidate pairs are at different streets).
function rawLevel(x: string, y: string): Level {
  if (x.length < 4 || y.length < 4) return 0;
  if (x === y) return 2;
  const [short, long] = x.length < y.length ? [x.length, y.length] : [y.length, x.length];
  if (short < long * 0.75) return 0;
  return jaroWinklerAbove(x, y, 0.92) >= 0.92 ? 1 : 0;
}

function streetLevel(x: string, y: string): Level {
  return x === y ? 2 : jaroWinklerAbove(x, y, 0.92) >= 0.92 ? 1 : 0;
}

/**
 * Line 1 of each record agrees (up to a typo) with line 2 of the other: the parsed streets, or
 * the lines as typed (letters only), since a typo can make the parser read a line differently.
 */
export function linesSwapped(a: PreparedRecord, b: PreparedRecord): boolean {
  if (a.line2Raw === '' || b.line2Raw === '') return false;
  if (rawLevel(a.streetRaw, b.line2Raw) > 0 && rawLevel(a.line2Raw, b.streetRaw) > 0) return true;
  if (a.street2 === '' || b.street2 === '') return false;
  return streetLevel(a.street1, b.street2) > 0 && streetLevel(a.street2, b.street1) > 0;
}

/** Line 1 of either record agrees (up to a typo, as typed) with line 2 of the other. */
export function linesCrossed(a: PreparedRecord, b: PreparedRecord): boolean {
  return rawLevel(a.streetRaw, b.line2Raw) > 0 || rawLevel(a.line2Raw, b.streetRaw) > 0 || linesSwapped(a, b);
}

/**
 * Line 2: exact, JW >= 0.92, JW >= 0.8; with swapped lines, the crossed agreement counts as
 * close; with one line crossed and the other not, line 2 is no evidence (it compares a street
 * with a building name). A parsed unit that differs is checked against the line as typed: the
 * parser reads `villa 5` as a unit after a line 1 and as text without one.
 */
export function compareLine2(a: PreparedRecord, b: PreparedRecord): Level {
  const direct = compareText(a.line2, b.line2);
  if (direct === -1 || direct >= 2) return direct;
  if (direct === 1) return Math.max(direct, typedLine2Level(a, b));
  if (linesSwapped(a, b)) return 2;
  const typed = typedLine2Level(a, b);
  if (typed > 0) return typed;
  return linesCrossed(a, b) ? -1 : 0;
}

// Line 2 as typed (letters and digits): exact, or one edit apart or letters close (JW >= 0.92),
// with the same digits.
// Not for unit lines (`Apt 4` against `Unit 4`): there the parsed unit decides.
function typedLine2Level(a: PreparedRecord, b: PreparedRecord): Level {
  if (a.line2Key === '' || b.line2Key === '' || isUnitLine(a.line2Raw) || isUnitLine(b.line2Raw)) return 0;
  if (a.line2Key === b.line2Key) return 3;
  if (digitsOf(a.line2Key) !== digitsOf(b.line2Key)) return 0;
  if (a.line2Key.length >= 4 && editDistance(a.line2Key, b.line2Key, 1) <= 1) return 2;
  if (a.line2Raw.length < 4 || b.line2Raw.length < 4) return 0;
  return jaroWinklerAbove(a.line2Raw, b.line2Raw, 0.92) >= 0.92 ? 2 : 0;
}

const digitsOf = (s: string): string => s.replace(/[^0-9]/g, '');

const UNIT_WORDS = ['apartment', 'apt', 'unit', 'suite', 'ste', 'flat', 'floor', 'fl', 'room', 'rm', 'lot', 'bldg'];

/**
 * Letters of a line 2 that names a unit: a designator (`apt`, `apartment`...) and at most the
 * unit's letter (`apartmentb` from `Apartment 4-B`), or nothing (`#4`).
 */
export function isUnitLine(letters: string): boolean {
  if (letters.length <= 1) return true;
  for (const w of UNIT_WORDS) if (letters.startsWith(w) && letters.length <= w.length + 1) return true;
  return false;
}

/** Locality (postcode, city, region), likewise one comparator for correlated parts. */
export function compareLocality(a: PreparedRecord, b: PreparedRecord): Level {
  const pc =
    a.postcode === '' || b.postcode === ''
      ? -1
      : a.postcode === b.postcode
        ? 2
        : editDistance(a.postcode, b.postcode, 1) <= 1
          ? 1
          : 0;
  const city =
    a.city === '' || b.city === '' ? -1 : a.city === b.city ? 2 : jaroWinklerAbove(a.city, b.city, 0.9) >= 0.9 ? 1 : 0;
  const region = a.region === '' || b.region === '' ? -1 : a.region === b.region ? 1 : 0;
  if (pc === -1 && city === -1 && region === -1) return -1;
  // A postcode one typo apart in the same city is the same place.
  if ((pc === 2 && city >= 1) || (pc === 2 && city === -1) || (pc === -1 && city === 2) || (pc === 1 && city === 2))
    return 3;
  if (pc === 2 || city === 2 || (pc === 1 && city >= 1)) return 2;
  if (pc === 1 || city === 1 || (pc === -1 && city === -1 && region === 1)) return 1;
  return 0;
}

const TEXT_LEVELS = ['different', 'similar', 'close', 'exact'] as const;

/** The comparison vector: one comparator per field, in a fixed order. */
export const FIELD_COMPARATORS: readonly FieldComparator[] = [
  { name: 'given_name', levels: NAME_LEVELS, compare: compareGiven, personal: true, tfValue: (r) => r.given },
  { name: 'family_name', levels: NAME_LEVELS, compare: compareFamily, personal: true, tfValue: (r) => r.family },
  {
    name: 'date_of_birth',
    levels: ['different', 'partial_date', 'two_edits', 'swap_or_typo', 'exact'],
    compare: compareDob,
    personal: true,
  },
  {
    name: 'national_id',
    levels: ['different', 'two_edits', 'one_edit', 'exact'],
    compare: identifierComparator((r) => r.nationalId, 2),
    personal: true,
  },
  { name: 'email', levels: ['different', 'similar', 'exact'], compare: compareEmail },
  { name: 'phone', levels: ['different', 'one_edit', 'exact'], compare: comparePhone },
  { name: 'address_line2', levels: TEXT_LEVELS, compare: compareLine2 },
  {
    name: 'street_address',
    levels: ['different', 'same_street', 'close', 'same'],
    compare: compareStreetAddress,
    tfValue: (r) => r.street,
  },
  {
    name: 'locality',
    levels: ['different', 'near', 'close', 'same'],
    compare: compareLocality,
    tfValue: (r) => r.postcode || r.city,
  },
];

/** Radix of the packed comparison vector: the most levels of any field plus one for "missing". */
export const PATTERN_RADIX = 6;

/** Packs a comparison vector into one integer (digit = level + 1, base PATTERN_RADIX). */
export function comparePair(a: PreparedRecord, b: PreparedRecord, ctx: ComparisonContext): number {
  let code = 0;
  for (let f = 0; f < FIELD_COMPARATORS.length; f++) {
    code = code * PATTERN_RADIX + FIELD_COMPARATORS[f]!.compare(a, b, ctx) + 1;
  }
  return code;
}

/** Unpacks a pattern into levels (-1 = missing), in FIELD_COMPARATORS order. */
export function unpackPattern(code: number): Level[] {
  const levels = new Array<Level>(FIELD_COMPARATORS.length);
  for (let f = FIELD_COMPARATORS.length - 1; f >= 0; f--) {
    levels[f] = (code % PATTERN_RADIX) - 1;
    code = Math.floor(code / PATTERN_RADIX);
  }
  return levels;
}
