import { Hash52Parts } from './strings.ts';
import type { PreparedRecord } from './types.ts';

/**
 * A blocking key described by its parts, so that one description gives both the key string
 * (`keyOf`, for tests and explanations) and its hash52 streamed from the parts (`hashOf`, what
 * blocking groups by): no joined string per record and rule.
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
function fieldLength(p: FieldPart, r: PreparedRecord): number {
  const length = p.get(r).length;
  if (p.prefix === 0) return length;
  return length >= p.prefix ? p.prefix : 0;
}

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

/** hash52(keyOf(parts, r)) without building the key, or -1 when the key is ''. */
export function hashOf(parts: readonly KeyPart[], r: PreparedRecord): number {
  for (let x = 0; x < parts.length; x++) {
    const p = parts[x]!;
    if (p.kind === 'field') {
      if (fieldLength(p, r) === 0) return -1;
    } else if (p.kind === 'unordered') {
      if (fieldLength(p.a, r) === 0 || fieldLength(p.b, r) === 0) return -1;
    } else if (p.text === '') return -1;
  }
  hasher.start();
  for (let x = 0; x < parts.length; x++) {
    const p = parts[x]!;
    if (x > 0) hasher.char(SEPARATOR);
    if (p.kind === 'field') hasher.text(p.get(r), fieldLength(p, r));
    else if (p.kind === 'literal') hasher.text(p.text, p.text.length);
    else {
      const a = p.a.get(r);
      const la = fieldLength(p.a, r);
      const b = p.b.get(r);
      const lb = fieldLength(p.b, r);
      const aFirst = prefixLess(a, la, b, lb);
      hasher.text(aFirst ? a : b, aFirst ? la : lb);
      hasher.char(SWAP_SEPARATOR);
      hasher.text(aFirst ? b : a, aFirst ? lb : la);
    }
  }
  return hasher.done();
}
