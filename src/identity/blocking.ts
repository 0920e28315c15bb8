import { isUnitLine } from './comparators.ts';
import {
  field,
  hashField,
  hashFieldPair,
  hashJoin2,
  hashJoin3,
  hashPairField,
  keyOf,
  literal,
  unordered,
  type FieldPart,
  type KeyPart,
} from './block-keys.ts';
import { hash52 } from './strings.ts';
import type { PreparedRecord } from './types.ts';

/** A blocking rule: records with the same non-empty key become candidate pairs. */
export interface BlockingRule {
  name: string;
  key(r: PreparedRecord): string;
  /**
   * hash52(key(r)), or -1 when the key is '': the same blocks without building a key string per
   * record and rule (rules built by keyRule have it).
   */
  hash?(r: PreparedRecord): number;
  /**
   * Training only: the rule's pairs (a sample of them at scale) help fit the model but are not
   * scored. For broad rules whose blocks grow with the square of the input while they find
   * almost no true pair the other rules miss (see sampleTrainingPairs).
   */
  trainingOnly?: boolean;
}

/**
 * A rule from its key parts (block-keys.ts), which give the key as a string, and the hash of
 * that key computed from the fields without building it (for grouping; the test checks the two
 * agree for every default rule). `skip` records get no key.
 */
function keyRule(
  name: string,
  parts: readonly KeyPart[],
  hash: (r: PreparedRecord) => number,
  opts: { trainingOnly?: true; skip?: (r: PreparedRecord) => boolean } = {},
): BlockingRule {
  const { skip } = opts;
  return {
    name,
    key: skip ? (r) => (skip(r) ? '' : keyOf(parts, r)) : (r) => keyOf(parts, r),
    hash: skip ? (r) => (skip(r) ? -1 : hash(r)) : hash,
    ...(opts.trainingOnly ? { trainingOnly: true } : {}),
  };
}

const family = field((r) => r.family);
const dob = field((r) => r.dob);
const postcode = field((r) => r.postcode);
const givenSdx = field((r) => r.givenSdx);
const familySdx = field((r) => r.familySdx);
const streetNumber = field((r) => r.streetNumber);
const initial = (get: (r: PreparedRecord) => string): FieldPart => field(get, 1);

/**
 * Default rules. Their union forgives an error in any one field (a typo in the family name
 * still meets its twin by date of birth, by phone, by address...). The three sound-alike rules
 * are training only: their blocks (a common first and last name; a common first name and birth
 * month; a common family name, birth year and initial) grow with the square of the input — 27M
 * pairs at a million synthetic people, against 5.4M from all the other rules — while the true
 * pairs only they find are few: blocking recall 0.9997 -> 0.9990 on synthetic data, FEBRL 3
 * 0.9928 -> 0.9917, FEBRL 4 0.9990 -> 0.9988, FEBRL 1 and 2 unchanged. Their pairs still shape
 * the model (a sample, weighted): the mix of pairs EM sees stays that of all the rules.
 * Keys are parts joined by `|` ('' when any part is empty); `unordered` joins two by `~`. The
 * hash beside each rule is the same key's (prefix length 0 = the whole field).
 */
export const DEFAULT_BLOCKING_RULES: readonly BlockingRule[] = [
  keyRule('soundex_names', [givenSdx, familySdx], (r) => hashJoin2(r.givenSdx, 0, r.familySdx, 0), {
    trainingOnly: true,
  }),
  keyRule('dob_given_initial', [dob, initial((r) => r.given)], (r) => hashJoin2(r.dob, 0, r.given, 1)),
  keyRule('dob_family_initial', [dob, initial((r) => r.family)], (r) => hashJoin2(r.dob, 0, r.family, 1)),
  keyRule('national_id', [field((r) => r.nationalId)], (r) => hashField(r.nationalId)),
  keyRule('phone', [field((r) => r.phone)], (r) => hashField(r.phone)),
  keyRule('email', [field((r) => r.email)], (r) => hashField(r.email)),
  keyRule('postcode_street', [postcode, field((r) => r.street, 3)], (r) => hashJoin2(r.postcode, 0, r.street, 3)),
  keyRule('postcode_family_soundex', [postcode, familySdx], (r) => hashJoin2(r.postcode, 0, r.familySdx, 0)),
  keyRule(
    'given_soundex_dob_year_month',
    [givenSdx, field((r) => r.dob, 6)],
    (r) => hashJoin2(r.givenSdx, 0, r.dob, 6),
    { trainingOnly: true },
  ),
  keyRule(
    'family_soundex_dob_year',
    [familySdx, field((r) => r.dob, 4), initial((r) => r.given)],
    (r) => hashJoin3(r.familySdx, 0, r.dob, 4, r.given, 1),
    { trainingOnly: true },
  ),
  keyRule('street_number_street', [streetNumber, field((r) => r.street, 4), field((r) => r.city, 2)], (r) =>
    hashJoin3(r.streetNumber, 0, r.street, 4, r.city, 2),
  ),
  // Family name and the street as typed, in one region: the postcode or city changed (or missing)
  // on one side. The region keeps common names on common streets from forming huge blocks.
  keyRule('family_street_typed', [family, field((r) => r.streetRaw, 4), field((r) => r.region)], (r) =>
    hashJoin3(r.family, 0, r.streetRaw, 4, r.region, 0),
  ),
  // Swaps: given and family name in each other's place, address lines in each other's place.
  keyRule(
    'dob_initials_unordered',
    [
      dob,
      unordered(
        initial((r) => r.given),
        initial((r) => r.family),
      ),
    ],
    (r) => hashFieldPair(r.dob, 0, r.given, 1, r.family, 1),
  ),
  keyRule('names_soundex_unordered_year', [unordered(givenSdx, familySdx), field((r) => r.dob, 4)], (r) =>
    hashPairField(r.givenSdx, 0, r.familySdx, 0, r.dob, 4),
  ),
  keyRule('names_soundex_unordered_city', [unordered(givenSdx, familySdx), field((r) => r.city, 3)], (r) =>
    hashPairField(r.givenSdx, 0, r.familySdx, 0, r.city, 3),
  ),
  // A family name changed (marriage, typo) together with the date of birth or the street.
  keyRule('postcode_given_soundex', [postcode, givenSdx], (r) => hashJoin2(r.postcode, 0, r.givenSdx, 0)),
  keyRule('postcode_line2', [postcode, field((r) => r.line2, 5)], (r) => hashJoin2(r.postcode, 0, r.line2, 5)),
  keyRule(
    'street_number_lines_unordered',
    [
      streetNumber,
      unordered(
        field((r) => r.street1, 4),
        field((r) => r.street2, 4),
      ),
    ],
    (r) => hashFieldPair(r.streetNumber, 0, r.street1, 4, r.street2, 4),
  ),
  // Both names replaced or swapped with typos, with the date of birth intact: the date with the
  // postcode or the house number (selective: few people share a birthday and a postcode).
  keyRule('dob_postcode', [dob, postcode], (r) => hashJoin2(r.dob, 0, r.postcode, 0)),
  keyRule('dob_street_number', [dob, streetNumber], (r) => hashJoin2(r.dob, 0, r.streetNumber, 0)),
  // The two address lines as typed, in either order: a house number missing or changed with the
  // postcode, the lines swapped. Not for a line 2 that is a unit (`Apt 4`, `Apartment 4-B`): a
  // unit designator with a common street would form blocks across the whole file.
  keyRule(
    'lines_typed_unordered',
    [
      unordered(
        field((r) => r.streetRaw, 5),
        field((r) => r.line2Key, 5),
      ),
      literal('*'),
    ],
    (r) => hashPairField(r.streetRaw, 5, r.line2Key, 5, '*', 0),
    { skip: (r) => isUnitLine(r.line2Raw) },
  ),
  // The street as typed where the parser misread it (`6 mockridgedcrescent`), in the postcode.
  // (Given name + street as typed + city found one more FEBRL 3 pair but gave 21% more candidate
  // pairs on synthetic people, none of them a true pair the other rules miss: not kept.)
  keyRule('postcode_street_typed', [postcode, field((r) => r.streetRaw, 4)], (r) =>
    hashJoin2(r.postcode, 0, r.streetRaw, 4),
  ),
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

/**
 * Pair list (lower index, higher index) in typed-array chunks, for the sampled training pairs
 * (about the budget: small). Callers reserve what they expect, so each chunk is allocated once
 * instead of doubling and copying. (Scored candidates are counted, then filled: blockPairs.)
 */
class PairBuffer {
  /** Pairs per lower index, at lowCount[lo + 1]: counted as pairs come, for uniquePairCodes. */
  readonly lowCount: Int32Array;
  constructor(n: number) {
    this.lowCount = new Int32Array(n + 1);
  }
  chunks: { lo: Int32Array; hi: Int32Array; length: number }[] = [];
  length = 0;
  private current = { lo: new Int32Array(0), hi: new Int32Array(0), length: 0 };
  reserve(count: number): void {
    if (this.current.lo.length - this.current.length >= count) return;
    this.current = {
      lo: new Int32Array(Math.max(count, 1 << 16)),
      hi: new Int32Array(Math.max(count, 1 << 16)),
      length: 0,
    };
    this.chunks.push(this.current);
  }
  release(): void {
    for (const c of this.chunks) release(c.lo, c.hi);
    this.chunks = [];
    release(this.lowCount);
  }
  push(i: number, j: number): void {
    let c = this.current;
    if (c.length === c.lo.length) {
      this.reserve(1 << 16);
      c = this.current;
    }
    const lo = i < j ? i : j;
    c.lo[c.length] = lo;
    c.hi[c.length++] = i < j ? j : i;
    this.lowCount[lo + 1]!++;
    this.length++;
  }
}

/**
 * Candidate pairs from the union of the rules, de-duplicated. Two passes over each rule's blocks
 * of two or more records (kept from grouping, much smaller than their pairs): one counts the
 * pairs per lower index, the other writes each pair's higher index straight into its bucket of
 * an array of the exact size. No pair list grows or is copied: at a million records the pair
 * chunks (8 bytes per pair of every rule) were what set off full collections of the whole heap.
 */
export function blockPairs(
  records: readonly PreparedRecord[],
  rules: readonly BlockingRule[],
  opts: BlockingOptions,
): BlockingResult {
  const n = records.length;
  const scratch = new BlockScratch(n);
  // Pairs per lower index at start[lo + 1], then (prefix sums) each lower index's offset.
  const start = new Int32Array(n + 1);
  const rulePairs: Record<string, number> = {};
  let oversizeBlocks = 0;
  let total = 0;
  const kept: Blocks[] = [];
  for (const rule of rules) {
    const blocks = keptBlocks(groupBlocks(records, rule, scratch), records, opts);
    let count = 0;
    oversizeBlocks += forEachPair(blocks, opts, (lo) => {
      start[lo + 1]!++;
      count++;
    });
    rulePairs[rule.name] = count;
    total += count;
    kept.push(blocks);
  }
  release(scratch.packed, scratch.start, scratch.members);
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const fill = start.slice(0, n);
  const partners = new Int32Array(total);
  for (const blocks of kept) {
    forEachPair(blocks, opts, (lo, hi) => {
      partners[fill[lo]!++] = hi;
    });
    release(blocks.start, blocks.members);
  }
  release(fill);
  const pairs = sortedUniqueCodes(partners, start, n);
  if (pairs.buffer !== partners.buffer) release(partners);
  release(start);
  return { pairs, rulePairs, oversizeBlocks };
}

/**
 * Frees typed arrays at once (detaching their buffers) instead of at the next garbage collection.
 * V8 starts a full collection of the whole heap for every ~64 MB of typed-array memory allocated
 * since the last one; at a million records that heap is ~0.8 GB and each collection took 4-6 s,
 * five of them in blocking and comparison. Only for arrays nothing reads afterwards.
 */
export function release(...arrays: (Int32Array | Float64Array)[]): void {
  for (const { buffer } of arrays) if (buffer instanceof ArrayBuffer && !buffer.detached) buffer.transfer(0);
}

/** Typed arrays for grouping one rule's blocks, reused rule after rule. */
class BlockScratch {
  packed: Float64Array;
  start: Int32Array;
  members: Int32Array;
  constructor(n: number) {
    this.packed = new Float64Array(n);
    this.start = new Int32Array(n + 1);
    this.members = new Int32Array(n);
  }
}

/** Blocks of one rule: block b holds members[start[b]..start[b + 1]) (ascending indexes). */
interface Blocks {
  start: Int32Array;
  members: Int32Array;
  count: number;
}

/**
 * Groups records by the rule's key. Each key is hashed to a number and packed with its record
 * index into one float (hash in the high bits), so one numeric sort gathers the blocks with
 * ascending members: no Map holding a million key strings per rule (that cost more in garbage
 * collection than anything else in blocking). Keys with the same hash share a block (the hash
 * keeps 33 bits at a million records: some tens of such blocks per rule) — a few extra
 * candidate pairs, never a lost one.
 */
function groupBlocks(records: readonly PreparedRecord[], rule: BlockingRule, scratch: BlockScratch): Blocks {
  const n = records.length;
  const indexBits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  const scale = 2 ** indexBits;
  // The hash keeps its top 53 - indexBits bits, so hash and index fit a float exactly.
  const hashScale = 1 / 2 ** (indexBits - 1);
  const { packed, start, members } = scratch;
  let m = 0;
  const hashed = rule.hash;
  for (let i = 0; i < n; i++) {
    const h = hashed ? hashed(records[i]!) : keyHash(rule.key(records[i]!));
    if (h >= 0) packed[m++] = Math.floor(h * hashScale) * scale + i;
  }
  const sorted = packed.subarray(0, m).sort();
  let count = 0;
  let previous = -1;
  for (let x = 0; x < m; x++) {
    const hash = Math.floor(sorted[x]! / scale);
    members[x] = sorted[x]! - hash * scale;
    if (hash !== previous) start[count++] = x;
    previous = hash;
  }
  start[count] = m;
  return { start, members, count };
}

const keyHash = (k: string): number => (k === '' ? -1 : hash52(k));

/** Calls `visit` with each block of two or more records: members[from..to). */
function forEachBlock({ start, count }: Blocks, visit: (from: number, to: number) => void): void {
  for (let b = 0; b < count; b++) if (start[b + 1]! - start[b]! >= 2) visit(start[b]!, start[b + 1]!);
}

/**
 * The blocks of two or more records, in arrays of their exact size (a selective rule's blocks
 * are mostly single records). An oversize block's members are stored in their sorted-
 * neighbourhood order (see windowPairs), so its pairs are the same on every pass.
 */
function keptBlocks(blocks: Blocks, records: readonly PreparedRecord[], opts: BlockingOptions): Blocks {
  let count = 0;
  let size = 0;
  for (let b = 0; b < blocks.count; b++) {
    const s = blocks.start[b + 1]! - blocks.start[b]!;
    if (s >= 2) [count, size] = [count + 1, size + s];
  }
  const start = new Int32Array(count + 1);
  const members = new Int32Array(size);
  let k = 0;
  let w = 0;
  forEachBlock(blocks, (from, to) => {
    start[k++] = w;
    if (to - from > opts.maxBlockSize) {
      for (const i of windowOrder(Array.from(blocks.members.subarray(from, to)), records)) members[w++] = i;
    } else {
      members.set(blocks.members.subarray(from, to), w);
      w += to - from;
    }
  });
  start[k] = w;
  return { start, members, count };
}

/**
 * Calls `visit(lower, higher)` with each pair of kept blocks (see keptBlocks): every pair of a
 * block, or in an oversize block each record with its `window` followers. Pairs within one
 * source are skipped in linkage mode. Returns the number of oversize blocks.
 */
function forEachPair(
  { start, members, count }: Blocks,
  opts: BlockingOptions,
  visit: (lo: number, hi: number) => void,
): number {
  const sources = opts.sources;
  let oversize = 0;
  for (let b = 0; b < count; b++) {
    const from = start[b]!;
    const to = start[b + 1]!;
    const big = to - from > opts.maxBlockSize;
    if (big) oversize++;
    for (let x = from; x < to; x++) {
      const i = members[x]!;
      const last = big ? Math.min(to, x + 1 + opts.window) : to;
      for (let y = x + 1; y < last; y++) {
        const j = members[y]!;
        if (sources && sources[i] === sources[j]) continue;
        if (i < j) visit(i, j);
        else visit(j, i);
      }
    }
  }
  return oversize;
}

function blockPairCount(blocks: Blocks, opts: BlockingOptions): number {
  let total = 0;
  for (let b = 0; b < blocks.count; b++) total += pairCountOf(blocks.start[b + 1]! - blocks.start[b]!, opts);
  return total;
}

function pairCountOf(size: number, opts: BlockingOptions): number {
  if (size < 2) return 0;
  if (size <= opts.maxBlockSize) return (size * (size - 1)) / 2;
  // Window pairs: each record meets up to `window` following ones.
  const w = Math.min(opts.window, size - 1);
  return w * size - (w * (w + 1)) / 2;
}

export interface TrainingPairs {
  /** Sorted unique pair codes (i * n + j) of the sample, none of them a scored candidate. */
  pairs: Float64Array;
  /** Share of the training-only pairs kept; each kept pair stands for 1 / rate pairs. */
  rate: number;
  /** Pairs the training-only rules give before sampling (with repeats across rules). */
  rawPairs: number;
}

/**
 * Pairs of training-only rules, for fitting the model: about `budget` of them, drawn by a hash
 * of the pair (so the same pair is in or out for every rule, and runs are reproducible), minus
 * the scored candidates in `exclude` (sorted codes), which are counted already.
 */
export function sampleTrainingPairs(
  records: readonly PreparedRecord[],
  rules: readonly BlockingRule[],
  opts: BlockingOptions & { budget: number },
  exclude: Float64Array,
): TrainingPairs {
  const scratch = new BlockScratch(records.length);
  const grouped = rules.map((rule) => keptBlocks(groupBlocks(records, rule, scratch), records, opts));
  release(scratch.packed, scratch.start, scratch.members);
  let rawPairs = 0;
  for (const g of grouped) rawPairs += blockPairCount(g, opts);
  const rate = rawPairs <= opts.budget ? 1 : opts.budget / rawPairs;
  const threshold = rate * 2 ** 32;
  const buf = new PairBuffer(records.length);
  const add = (lo: number, hi: number): void => {
    if (rate < 1 && pairHash(lo, hi) >= threshold) return;
    buf.push(lo, hi);
  };
  buf.reserve(Math.ceil(Math.min(rawPairs, opts.budget) * 1.05) + 1024);
  for (const g of grouped) forEachPair(g, opts, add);
  for (const g of grouped) release(g.start, g.members);
  const sampled = uniquePairCodes(buf, records.length);
  buf.release();
  const pairs = without(sampled, exclude);
  release(sampled);
  return { pairs, rate, rawPairs };
}

// A 32-bit mix of the two indexes (murmur3 finaliser), uniform enough to sample pairs by.
function pairHash(i: number, j: number): number {
  let h = Math.imul(i, 0x9e3779b1) ^ Math.imul(j + 0x7f4a7c15, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Sorted codes of `a` that are not in `b` (both sorted). */
function without(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  let w = 0;
  let y = 0;
  for (let x = 0; x < a.length; x++) {
    while (y < b.length && b[y]! < a[x]!) y++;
    if (y < b.length && b[y] === a[x]) continue;
    out[w++] = a[x]!;
  }
  const kept = out.slice(0, w);
  release(out);
  return kept;
}

// Sorted neighbourhood inside an oversize block: sort by full name and pair nearby records, so
// a very common key (a popular name, a shared office phone) stays linear instead of quadratic.
// The block's records in that order (forEachPair pairs each with its `window` followers).
function windowOrder(block: number[], records: readonly PreparedRecord[]): number[] {
  const sortKey = (i: number): string => `${records[i]!.family} ${records[i]!.given} ${records[i]!.dob}`;
  const sorted = block.map((i) => ({ i, k: sortKey(i) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i));
  return sorted.map((x) => x.i);
}

/**
 * Sorted unique codes i * n + j: pairs are bucketed by their lower index (counting sort), and
 * each record's partners sorted and de-duplicated — linear apart from the small per-record
 * sorts, where one sort of every code would be O(P log P).
 */
function uniquePairCodes(buf: PairBuffer, n: number): Float64Array {
  // The counts came with the pairs; each chunk is freed once scattered, so the chunks, the
  // partners and the codes are never all held at once (fewer full collections, see release).
  const start = buf.lowCount;
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const fill = start.slice(0, n);
  const partners = new Int32Array(buf.length);
  for (const c of buf.chunks) {
    for (let p = 0; p < c.length; p++) partners[fill[c.lo[p]!]!++] = c.hi[p]!;
    release(c.lo, c.hi);
  }
  buf.chunks = [];
  release(fill);
  const codes = sortedUniqueCodes(partners, start, n);
  if (codes.buffer !== partners.buffer) release(partners);
  return codes;
}

/**
 * Sorted unique codes from each lower index's partners (partners[start[i]..start[i + 1])):
 * sorted and de-duplicated in place (start[] becomes the compacted offsets). When the unique
 * pairs fit (a pair is found by several rules: 4.5 per unique pair on synthetic people), the
 * codes are written over the partners' own memory, so the pass allocates no second large array.
 */
function sortedUniqueCodes(partners: Int32Array, start: Int32Array, n: number): Float64Array {
  // Sort each record's partners and drop repeats in place; start[] becomes the compacted offsets.
  let w = 0;
  let from = 0;
  for (let i = 0; i < n; i++) {
    const to = start[i + 1]!;
    if (to - from > 32) partners.subarray(from, to).sort();
    else insertionSort(partners, from, to);
    start[i] = w;
    let last = -1;
    for (let x = from; x < to; x++) {
      if (partners[x] !== last) last = partners[w++] = partners[x]!;
    }
    from = to;
  }
  start[n] = w;
  if (partners.byteOffset !== 0 || 2 * w > partners.length) {
    const codes = new Float64Array(w);
    for (let i = 0; i < n; i++) for (let x = start[i]!; x < start[i + 1]!; x++) codes[x] = i * n + partners[x]!;
    return codes;
  }
  // Backwards: code x overwrites partners 2x and 2x + 1, which are at or after x (already read).
  const codes = new Float64Array(partners.buffer, 0, w);
  for (let i = n - 1; i >= 0; i--) for (let x = start[i + 1]! - 1; x >= start[i]!; x--) codes[x] = i * n + partners[x]!;
  return codes;
}

function insertionSort(a: Int32Array, from: number, to: number): void {
  for (let x = from + 1; x < to; x++) {
    const v = a[x]!;
    let y = x - 1;
    for (; y >= from && a[y]! > v; y--) a[y + 1] = a[y]!;
    a[y + 1] = v;
  }
}

/** Decodes pair code -> [i, j]. */
export function decodePair(code: number, n: number): [number, number] {
  const i = Math.floor(code / n);
  return [i, code - i * n];
}
