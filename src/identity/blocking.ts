import type { PreparedRecord } from './types.ts';

/** A blocking rule: records with the same non-empty key become candidate pairs. */
export interface BlockingRule {
  name: string;
  key(r: PreparedRecord): string;
}

const pre = (s: string, n: number): string => (s.length >= n ? s.slice(0, n) : '');
const join = (...parts: string[]): string => (parts.some((p) => p === '') ? '' : parts.join('|'));

/**
 * Default rules. Each is selective enough on its own to keep blocks small at a million records;
 * their union forgives an error in any one field (a typo in the family name still meets its
 * twin by date of birth, by phone, by address...).
 */
export const DEFAULT_BLOCKING_RULES: readonly BlockingRule[] = [
  { name: 'soundex_names', key: (r) => join(r.givenSdx, r.familySdx) },
  { name: 'dob_given_initial', key: (r) => join(r.dob, pre(r.given, 1)) },
  { name: 'dob_family_initial', key: (r) => join(r.dob, pre(r.family, 1)) },
  { name: 'national_id', key: (r) => r.nationalId },
  { name: 'phone', key: (r) => r.phone },
  { name: 'email', key: (r) => r.email },
  { name: 'postcode_street', key: (r) => join(r.postcode, pre(r.street, 3)) },
  { name: 'postcode_family_soundex', key: (r) => join(r.postcode, r.familySdx) },
  { name: 'given_soundex_dob_year_month', key: (r) => join(r.givenSdx, pre(r.dob, 6)) },
  { name: 'family_soundex_dob_year', key: (r) => join(r.familySdx, pre(r.dob, 4), pre(r.given, 1)) },
  { name: 'street_number_street', key: (r) => join(r.streetNumber, pre(r.street, 4), pre(r.city, 2)) },
];

export interface BlockingOptions {
  /** Blocks larger than this are not expanded fully; each record meets its `window` neighbours. */
  maxBlockSize: number;
  window: number;
  /** When given, only pairs whose sources differ are kept (linkage between files). */
  sources?: readonly string[];
}

export interface BlockingResult {
  /** Sorted unique pair codes: i * n + j with i < j. */
  pairs: Float64Array;
  rulePairs: Record<string, number>;
  oversizeBlocks: number;
}

class PairBuffer {
  data = new Float64Array(1 << 16);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
}

/** Candidate pairs from the union of the rules, de-duplicated. */
export function blockPairs(records: readonly PreparedRecord[], rules: readonly BlockingRule[], opts: BlockingOptions): BlockingResult {
  const n = records.length;
  const buf = new PairBuffer();
  const rulePairs: Record<string, number> = {};
  let oversizeBlocks = 0;
  const add = (i: number, j: number): void => {
    if (opts.sources && opts.sources[i] === opts.sources[j]) return;
    buf.push(i < j ? i * n + j : j * n + i);
  };
  for (const rule of rules) {
    const before = buf.length;
    const blocks = new Map<string, number[]>();
    for (let i = 0; i < n; i++) {
      const k = rule.key(records[i]!);
      if (k === '') continue;
      const block = blocks.get(k);
      if (block) block.push(i);
      else blocks.set(k, [i]);
    }
    for (const block of blocks.values()) {
      if (block.length < 2) continue;
      if (block.length > opts.maxBlockSize) {
        oversizeBlocks++;
        windowPairs(block, records, opts.window, add);
        continue;
      }
      for (let x = 0; x < block.length; x++) for (let y = x + 1; y < block.length; y++) add(block[x]!, block[y]!);
    }
    rulePairs[rule.name] = buf.length - before;
  }
  return { pairs: uniqueSorted(buf.data.subarray(0, buf.length)), rulePairs, oversizeBlocks };
}

// Sorted neighbourhood inside an oversize block: sort by full name and pair nearby records, so
// a very common key (a popular name, a shared office phone) stays linear instead of quadratic.
function windowPairs(block: number[], records: readonly PreparedRecord[], window: number, add: (i: number, j: number) => void): void {
  const sortKey = (i: number): string => `${records[i]!.family} ${records[i]!.given} ${records[i]!.dob}`;
  const sorted = block.map((i) => ({ i, k: sortKey(i) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i));
  for (let x = 0; x < sorted.length; x++) {
    for (let y = x + 1; y < Math.min(sorted.length, x + 1 + window); y++) add(sorted[x]!.i, sorted[y]!.i);
  }
}

function uniqueSorted(codes: Float64Array): Float64Array {
  const sorted = Float64Array.from(codes).sort();
  let w = 0;
  for (let r = 0; r < sorted.length; r++) {
    if (w === 0 || sorted[r] !== sorted[w - 1]) sorted[w++] = sorted[r]!;
  }
  return sorted.slice(0, w);
}

/** Decodes pair code -> [i, j]. */
export function decodePair(code: number, n: number): [number, number] {
  const i = Math.floor(code / n);
  return [i, code - i * n];
}
