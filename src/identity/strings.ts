// String similarity primitives used by the comparators. Hand-written because they sit in the
// innermost loop (millions of calls) and must not allocate.

// Reused scratch buffers: the comparators run millions of times and must not allocate.
const buffers = [new Int32Array(64), new Int32Array(64), new Int32Array(64), new Int32Array(64), new Int32Array(64)];

function scratch(slot: number, length: number): Int32Array {
  let buf = buffers[slot]!;
  if (buf.length < length + 1) {
    buf = new Int32Array((length + 1) * 2);
    buffers[slot] = buf;
  }
  buf.fill(0, 0, length + 1);
  return buf;
}

/**
 * Jaro-Winkler similarity when it can reach `floor`, else 0 (the comparators only ask whether
 * it clears a threshold). An upper bound first: a character of one string can only be matched
 * if it occurs in the other, so counting those bounds the matches and with them the score. Most
 * candidate pairs are different people whose names share few letters: the bound rejects them
 * in one pass over each string, where the full score scans a window per character.
 */
export function jaroWinklerAbove(a: string, b: string, floor: number): number {
  const la = a.length;
  const lb = b.length;
  if (la === 0 || lb === 0 || a === b) return jaroWinkler(a, b);
  // Letters present, one bit per char code mod 32 (collisions only loosen the bound).
  let maskA = 0;
  let maskB = 0;
  for (let i = 0; i < la; i++) maskA |= 1 << (a.charCodeAt(i) & 31);
  for (let j = 0; j < lb; j++) maskB |= 1 << (b.charCodeAt(j) & 31);
  let inB = 0;
  for (let i = 0; i < la; i++) if (maskB & (1 << (a.charCodeAt(i) & 31))) inB++;
  let inA = 0;
  for (let j = 0; j < lb; j++) if (maskA & (1 << (b.charCodeAt(j) & 31))) inA++;
  const m = inA < inB ? inA : inB;
  if (m === 0) return 0;
  const jaro = (m / la + m / lb + 1) / 3;
  let prefix = 0;
  const maxPrefix = Math.min(4, la, lb);
  while (prefix < maxPrefix && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  // A margin for rounding: the bound must never reject a pair the full score would accept.
  if (jaro + prefix * 0.1 * (1 - jaro) < floor - 1e-9) return 0;
  return jaroWinkler(a, b);
}

/** Jaro-Winkler similarity in [0, 1] (prefix scale 0.1, up to 4 prefix characters). */
export function jaroWinkler(a: string, b: string): number {
  if (a === b) return a.length === 0 ? 0 : 1;
  const la = a.length;
  const lb = b.length;
  if (la === 0 || lb === 0) return 0;
  if (la <= 31 && lb <= 31) return jaroWinklerShort(a, b);
  const range = Math.max(0, Math.floor(Math.max(la, lb) / 2) - 1);
  const aFlags = scratch(0, la);
  const bFlags = scratch(1, lb);
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const lo = Math.max(0, i - range);
    const hi = Math.min(i + range + 1, lb);
    const c = a.charCodeAt(i);
    for (let j = lo; j < hi; j++) {
      if (bFlags[j] === 0 && b.charCodeAt(j) === c) {
        aFlags[i] = 1;
        bFlags[j] = 1;
        matches++;
        break;
      }
    }
  }
  if (matches === 0) return 0;
  let k = 0;
  let transpositions = 0;
  for (let i = 0; i < la; i++) {
    if (aFlags[i] === 0) continue;
    while (bFlags[k] === 0) k++;
    if (a.charCodeAt(i) !== b.charCodeAt(k)) transpositions++;
    k++;
  }
  const m = matches;
  const jaro = (m / la + m / lb + (m - transpositions / 2) / m) / 3;
  let prefix = 0;
  const maxPrefix = Math.min(4, la, lb);
  while (prefix < maxPrefix && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  return jaro + prefix * 0.1 * (1 - jaro);
}

// The same computation for strings of up to 31 characters (names, streets, cities: nearly every
// call), with the matched-character flags kept in two integers instead of scratch arrays.
function jaroWinklerShort(a: string, b: string): number {
  const la = a.length;
  const lb = b.length;
  const range = Math.max(0, Math.floor(Math.max(la, lb) / 2) - 1);
  let aFlags = 0;
  let bFlags = 0;
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const lo = i > range ? i - range : 0;
    const hi = i + range + 1 < lb ? i + range + 1 : lb;
    const c = a.charCodeAt(i);
    for (let j = lo; j < hi; j++) {
      if ((bFlags & (1 << j)) === 0 && b.charCodeAt(j) === c) {
        aFlags |= 1 << i;
        bFlags |= 1 << j;
        matches++;
        break;
      }
    }
  }
  if (matches === 0) return 0;
  let k = 0;
  let transpositions = 0;
  for (let i = 0; i < la; i++) {
    if ((aFlags & (1 << i)) === 0) continue;
    while ((bFlags & (1 << k)) === 0) k++;
    if (a.charCodeAt(i) !== b.charCodeAt(k)) transpositions++;
    k++;
  }
  const m = matches;
  const jaro = (m / la + m / lb + (m - transpositions / 2) / m) / 3;
  let prefix = 0;
  const maxPrefix = Math.min(4, la, lb);
  while (prefix < maxPrefix && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  return jaro + prefix * 0.1 * (1 - jaro);
}

/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent transposition), stopping early
 * once the distance exceeds `max` (returns max + 1 then).
 */
export function editDistance(a: string, b: string, max: number): number {
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > max) return max + 1;
  if (a === b) return 0;
  if (max === 1) return withinOneEdit(a, b) ? 1 : 2;
  if (bagDistance(a, b) > max) return max + 1;
  let prev2 = scratch(2, lb);
  let prev = scratch(3, lb);
  let cur = scratch(4, lb);
  for (let j = 0; j <= lb; j++) prev[j] = j;
  for (let i = 1; i <= la; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= lb; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (
        i > 1 &&
        j > 1 &&
        a.charCodeAt(i - 1) === b.charCodeAt(j - 2) &&
        a.charCodeAt(i - 2) === b.charCodeAt(j - 1)
      ) {
        v = Math.min(v, prev2[j - 2]! + 1);
      }
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    const t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return Math.min(prev[lb]!, max + 1);
}

const bag = new Int32Array(32);

/**
 * A lower bound of the edit distance: the characters of one string not matched by a character
 * of the other (as multisets), the larger side. An edit changes it by at most one (a
 * transposition not at all). Dates of birth of two different people are rejected by it without
 * the table of the full distance. Counted by char code mod 32: merging characters only lowers it.
 */
function bagDistance(a: string, b: string): number {
  bag.fill(0);
  for (let i = 0; i < a.length; i++) bag[a.charCodeAt(i) & 31]!++;
  for (let j = 0; j < b.length; j++) bag[b.charCodeAt(j) & 31]!--;
  let onlyA = 0;
  let onlyB = 0;
  for (let k = 0; k < 32; k++) {
    const d = bag[k]!;
    if (d > 0) onlyA += d;
    else onlyB -= d;
  }
  return onlyA > onlyB ? onlyA : onlyB;
}

/**
 * True when two different strings are one edit apart (substitution, insertion, deletion or
 * adjacent transposition): the `max = 1` case of editDistance in one linear pass.
 */
function withinOneEdit(a: string, b: string): boolean {
  const [s, t] = a.length <= b.length ? [a, b] : [b, a];
  let i = 0;
  while (i < s.length && s.charCodeAt(i) === t.charCodeAt(i)) i++;
  if (s.length !== t.length) return tailEquals(s, i, t, i + 1);
  if (tailEquals(s, i + 1, t, i + 1)) return true;
  return (
    i + 1 < s.length &&
    s.charCodeAt(i) === t.charCodeAt(i + 1) &&
    s.charCodeAt(i + 1) === t.charCodeAt(i) &&
    tailEquals(s, i + 2, t, i + 2)
  );
}

function tailEquals(s: string, i: number, t: string, j: number): boolean {
  if (s.length - i !== t.length - j) return false;
  for (; i < s.length; i++, j++) if (s.charCodeAt(i) !== t.charCodeAt(j)) return false;
  return true;
}

const SOUNDEX_CODES = '01230120022455012623010202';

// Each code built once: a run asks for two codes per record, and a fresh string per call was
// garbage, and a separate copy of the same four letters per record in the prepared records.
const SOUNDEX_TABLE: (string | undefined)[] = new Array(26 * 1000);

/** American Soundex (letter + 3 digits); '' for input without letters. */
export function soundex(s: string): string {
  let letter = -1;
  let digits = 0;
  let count = 0;
  let last = -1;
  for (let i = 0; i < s.length && count < 3; i++) {
    const c = s.charCodeAt(i) | 0x20;
    if (c < 97 || c > 122) continue;
    const code = SOUNDEX_CODES.charCodeAt(c - 97) - 48;
    if (letter < 0) {
      letter = c - 97;
      last = code;
      continue;
    }
    // h and w do not separate letters with the same code; vowels do.
    if (c === 104 || c === 119) continue;
    if (code !== 0 && code !== last) {
      digits = digits * 10 + code;
      count++;
    }
    last = code;
  }
  if (letter < 0) return '';
  for (; count < 3; count++) digits *= 10;
  const slot = letter * 1000 + digits;
  let out = SOUNDEX_TABLE[slot];
  if (out === undefined) {
    out = String.fromCharCode(65 + letter) + String(digits).padStart(3, '0');
    SOUNDEX_TABLE[slot] = out;
  }
  return out;
}

/** Lower case, letters and digits only, single spaces. */
export function simplify(s: string): string {
  // One pass decides the fast paths: ASCII text is its own NFKD form (no accents to strip), and
  // text already simple (most names, once lower-cased by a source) is returned as it is.
  let ascii = true;
  let simple = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128) {
      ascii = false;
      break;
    }
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) continue;
    if (c !== 32 || i === 0 || i === s.length - 1 || s.charCodeAt(i - 1) === 32) simple = false;
  }
  if (ascii && simple) return s;
  const lower = s.toLowerCase();
  const base = ascii ? lower : lower.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  return base.replace(/[^a-z0-9]+/g, ' ').trim();
}

/** A 52-bit hash of a string (two 32-bit FNV-1a style hashes, murmur-finalised). */
export function hash52(k: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return (fmix(a) >>> 0) * 2 ** 20 + (fmix(b) >>> 12);
}

function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * hash52 of a string given in parts, without building it: `start`, then `text`/`char` for each
 * part in order, then `done`. Blocking hashes ~20 keys per record; joined key strings were
 * ~20M short-lived strings per million records, and their garbage collection cost more than the
 * hashing. One shared instance: the calls of one key never interleave with another's.
 */
export class Hash52Parts {
  private a = 0;
  private b = 0;
  start(): void {
    this.a = 0x811c9dc5;
    this.b = 0x01000193;
  }
  /** The first `length` characters of `s`. */
  text(s: string, length: number): void {
    let a = this.a;
    let b = this.b;
    for (let i = 0; i < length; i++) {
      const c = s.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
    }
    this.a = a;
    this.b = b;
  }
  char(c: number): void {
    this.a = Math.imul(this.a ^ c, 0x01000193);
    this.b = Math.imul(this.b ^ c, 0x5bd1e995) ^ (this.b >>> 15);
  }
  done(): number {
    return (fmix(this.a) >>> 0) * 2 ** 20 + (fmix(this.b) >>> 12);
  }
}
