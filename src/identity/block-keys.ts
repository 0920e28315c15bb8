import { Hash52Parts } from './strings.ts';
import type { PreparedRecord } from './types.ts';

/**
 * A blocking key described by its parts (`keyOf` gives the key string), and hashes of the key
 * shapes streamed from the fields (what blocking groups by): no joined string per record and rule.
 */
export type KeyPart =
  /** A field, or its first `prefix` characters ('' when the field is shorter). */
  | { kind: 'field'; get: (r: PreparedRecord) => string; prefix: number }
  /** Two field parts in a fixed order joined by `~`, so a record and its swapped twin share the key. */
  | { kind: 'unordered'; a: FieldPart; b: FieldPart }
  | { kind: 'literal'; text: string };

export type FieldPart = Extract<KeyPart, { kind: 'field' }>;

/** The whole field (prefix 0), or its first `prefix` characters. */
export const field = (get: (r: PreparedRecord) => string, prefix = 0): FieldPart => ({ kind: 'field', get, prefix });
export const unordered = (a: FieldPart, b: FieldPart): KeyPart => ({ kind: 'unordered', a, b });
export const literal = (text: string): KeyPart => ({ kind: 'literal', text });

const SEPARATOR = 124; // '|'
const SWAP_SEPARATOR = 126; // '~'

/** Characters of the part's value, 0 when it is empty (then the whole key is ''). */
function fieldText(p: FieldPart, r: PreparedRecord): string {
  const s = p.get(r);
  if (p.prefix === 0) return s;
  return s.length >= p.prefix ? s.slice(0, p.prefix) : '';
}

/** True when the first `la` characters of `a` sort before the first `lb` of `b` (as `<` does). */
function prefixLess(a: string, la: number, b: string, lb: number): boolean {
  const common = la < lb ? la : lb;
  for (let i = 0; i < common; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d < 0;
  }
  return la < lb;
}

/** The key: its parts joined by `|`, '' when any part is empty. */
export function keyOf(parts: readonly KeyPart[], r: PreparedRecord): string {
  const texts: string[] = [];
  for (const p of parts) {
    let t: string;
    if (p.kind === 'field') t = fieldText(p, r);
    else if (p.kind === 'literal') t = p.text;
    else {
      const a = fieldText(p.a, r);
      const b = fieldText(p.b, r);
      t = a === '' || b === '' ? '' : a < b ? `${a}~${b}` : `${b}~${a}`;
    }
    if (t === '') return '';
    texts.push(t);
  }
  return texts.join('|');
}

const hasher = new Hash52Parts();

// Hand-written hashes of the default rules' key shapes. Each rule calls one of these from its
// own arrow function, so every field read is monomorphic; interpreting the parts generically costs
// a megamorphic getter call per part. A prefix length of 0 means the whole field.

const len = (s: string, n: number): number => (n === 0 ? s.length : s.length >= n ? n : 0);

/** Key `a`. */
export function hashField(a: string): number {
  if (a === '') return -1;
  hasher.start();
  hasher.text(a, a.length);
  return hasher.done();
}

/** Key `a|b`. */
export function hashJoin2(a: string, na: number, b: string, nb: number): number {
  const la = len(a, na);
  const lb = len(b, nb);
  if (la === 0 || lb === 0) return -1;
  hasher.start();
  hasher.text(a, la);
  hasher.char(SEPARATOR);
  hasher.text(b, lb);
  return hasher.done();
}

/** Key `a|b|c`. */
export function hashJoin3(a: string, na: number, b: string, nb: number, c: string, nc: number): number {
  const la = len(a, na);
  const lb = len(b, nb);
  const lc = len(c, nc);
  if (la === 0 || lb === 0 || lc === 0) return -1;
  hasher.start();
  hasher.text(a, la);
  hasher.char(SEPARATOR);
  hasher.text(b, lb);
  hasher.char(SEPARATOR);
  hasher.text(c, lc);
  return hasher.done();
}

/** Key `a|x~y` with x and y in sorted order. */
export function hashFieldPair(a: string, na: number, x: string, nx: number, y: string, ny: number): number {
  const la = len(a, na);
  const lx = len(x, nx);
  const ly = len(y, ny);
  if (la === 0 || lx === 0 || ly === 0) return -1;
  hasher.start();
  hasher.text(a, la);
  hasher.char(SEPARATOR);
  feedPair(x, lx, y, ly);
  return hasher.done();
}

/** Key `x~y|a` with x and y in sorted order. */
export function hashPairField(x: string, nx: number, y: string, ny: number, a: string, na: number): number {
  const lx = len(x, nx);
  const ly = len(y, ny);
  const la = len(a, na);
  if (la === 0 || lx === 0 || ly === 0) return -1;
  hasher.start();
  feedPair(x, lx, y, ly);
  hasher.char(SEPARATOR);
  hasher.text(a, la);
  return hasher.done();
}

function feedPair(x: string, lx: number, y: string, ly: number): void {
  const xFirst = prefixLess(x, lx, y, ly);
  hasher.text(xFirst ? x : y, xFirst ? lx : ly);
  hasher.char(SWAP_SEPARATOR);
  hasher.text(xFirst ? y : x, xFirst ? ly : lx);
}
