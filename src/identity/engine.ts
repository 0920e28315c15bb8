import { bandOf, DEFAULT_BANDS } from './bands.ts';
import { blockPairs, DEFAULT_BLOCKING_RULES, release, sampleTrainingPairs, type BlockingRule } from './blocking.ts';
import { clusterPairs, type LinkPair } from './cluster.ts';
import {
  compareDob,
  dobDiffers,
  compareGiven,
  comparePair,
  FIELD_COMPARATORS,
  PATTERN_RADIX,
  unpackPattern,
  type ComparisonContext,
} from './comparators.ts';
import {
  estimateU,
  explainPair,
  fitEm,
  modelWeights,
  pairWeight,
  termFrequencies,
  tfAdjustment,
  weightToProbability,
  type Explanation,
  type FsModel,
} from './fellegi-sunter.ts';
import { buildNicknameIndex } from './nicknames.ts';
import { createPreparer } from './prepare.ts';
import { hash52 } from './strings.ts';
import type { Band, BandConfig, PersonRecord, PreparedRecord } from './types.ts';

export interface MatchConfig {
  bands: BandConfig;
  /** Country for phone numbers written without a country code (ISO 3166 alpha-2). */
  defaultCountry: string;
  blockingRules: readonly BlockingRule[];
  maxBlockSize: number;
  blockWindow: number;
  /** Random pairs sampled to initialise u. */
  uSamples: number;
  emMaxIterations: number;
  /**
   * Linkage mode: only pairs across different `source` values are compared, and a cluster
   * holds at most one record per source (each input is assumed free of internal duplicates).
   */
  linkAcrossSourcesOnly: boolean;
  /**
   * Most pairs of training-only blocking rules compared to fit the model (a hash sample when
   * there are more, each kept pair weighted up). Default TRAINING_PAIR_BUDGET.
   */
  trainingPairBudget?: number;
  onProgress?: (phase: string, done: number, total: number) => void;
}

/** Enough pairs for EM to see the mix of the training-only rules' pairs at any input size. */
export const TRAINING_PAIR_BUDGET = 300_000;

export const DEFAULT_MATCH_CONFIG: MatchConfig = {
  bands: DEFAULT_BANDS,
  defaultCountry: 'US',
  blockingRules: DEFAULT_BLOCKING_RULES,
  maxBlockSize: 200,
  blockWindow: 20,
  uSamples: 50_000,
  emMaxIterations: 60,
  linkAcrossSourcesOnly: false,
  trainingPairBudget: TRAINING_PAIR_BUDGET,
};

export interface ScoredPair {
  a: number;
  b: number;
  probability: number;
  band: Band;
  /** True when an auto-link was refused by the chaining guard (sent to review). */
  guarded: boolean;
}

export interface BlockingSummary {
  /** Pairs each scoring rule gave (before de-duplication across rules). */
  rulePairs: Record<string, number>;
  oversizeBlocks: number;
  /** Training-only rules: their pairs before sampling, the sampled share, and the pairs compared. */
  trainingRawPairs: number;
  trainingSampleRate: number;
  trainingPairs: number;
}

export interface MatchResult {
  records: number;
  candidatePairs: number;
  blocking: BlockingSummary;
  model: FsModel;
  /** Pairs in the auto and review bands. */
  pairs: ScoredPair[];
  /** Cluster root (smallest record index of the cluster) per record. */
  clusterOf: Int32Array;
  /** Highest probability of an accepted auto-link touching each record (NaN for singletons). */
  recordProbability: Float64Array;
  clusters: number;
  explain(a: number, b: number): Explanation;
  /** Candidate pair codes (i * n + j), for blocking-recall measurement. */
  candidateCodes: Float64Array;
}

/** Runs the whole linkage: prepare, block, compare, fit (EM, no labels), score, cluster. */
export function matchRecords(
  records: readonly PersonRecord[],
  config: MatchConfig = DEFAULT_MATCH_CONFIG,
): MatchResult {
  const n = records.length;
  const progress = config.onProgress ?? (() => {});
  const sources = config.linkAcrossSourcesOnly ? records.map((r) => r.source ?? '') : undefined;
  // Prepare, block, compare and score run in locality order (local index r is input record
  // order[r]); the fit, the clustering and every result use input indexes.
  const order = localityOrder(records);
  const local = prepareInOrder(records, order, config, progress);
  const prepared: PreparedRecord[] = new Array(n);
  for (let r = 0; r < n; r++) prepared[order[r]!] = local[r]!;
  // No given-name memo: with the Jaro-Winkler bound (strings.ts) recomputing a level is cheaper
  // than two map look-ups (compare 1.65 -> 1.56 s CPU at 200k), and the memo held 2M entries.
  const ctx: ComparisonContext = { nicknames: buildNicknameIndex() };
  progress('block', 0, 1);
  const blockOpts = {
    maxBlockSize: config.maxBlockSize,
    window: config.blockWindow,
    ...(sources ? { sources: Array.from(order, (i) => sources[i]!) } : {}),
  };
  const blocked = blockPairs(
    local,
    config.blockingRules.filter((r) => !r.trainingOnly),
    blockOpts,
  );
  const codes = blocked.pairs;
  const training = sampleTrainingPairs(
    local,
    config.blockingRules.filter((r) => r.trainingOnly),
    { ...blockOpts, budget: config.trainingPairBudget ?? TRAINING_PAIR_BUDGET },
    codes,
  );
  const patterns = comparePairs(local, codes, ctx, progress);
  const trainingPatterns = comparePairs(local, training.pairs, ctx, () => {});
  const trainingPairs = training.pairs.length;
  release(training.pairs);
  progress('fit', 0, 1);
  const model = fitModel(
    { inputOrder: prepared, localOrder: local },
    [
      { patterns, weight: 1 },
      { patterns: trainingPatterns, weight: 1 / training.rate },
    ],
    ctx,
    config,
  );
  progress('score', 0, 1);
  const pairs = scorePairs(model, local, codes, patterns, config.bands, order);
  release(patterns, trainingPatterns);
  const candidatePairs = codes.length;
  // In place: a second array of every candidate (72 MB at a million records) set off a full
  // collection of the whole heap (see release in blocking.ts).
  const candidateCodes = toInputCodes(codes, order);
  const weightOf = pairScorer(model, prepared, ctx);
  const reviewWeight = Math.log2(config.bands.p_review / (1 - config.bands.p_review));
  const conflicts = (i: number, j: number, direct: boolean): boolean =>
    (sources !== undefined && sources[i] === sources[j]) ||
    // The linked pair itself must not conflict. Other members of the two clusters (never
    // compared directly) conflict only if their own evidence also fails to reach review.
    (strongConflict(prepared[i]!, prepared[j]!, ctx) && (direct || weightOf(i, j) < reviewWeight));
  progress('cluster', 0, 1);
  const autos = pairs.filter((p) => p.band === 'auto');
  const { clusterOf, refused } = clusterPairs(n, autos, { conflicts, maxClusterSize: 50 });
  markRefused(pairs, refused);
  progress('done', 1, 1);
  const recordProbability = bestProbabilities(n, pairs, clusterOf);
  let clusters = 0;
  for (let i = 0; i < n; i++) if (clusterOf[i] === i) clusters++;
  return {
    records: n,
    candidatePairs,
    blocking: {
      rulePairs: blocked.rulePairs,
      oversizeBlocks: blocked.oversizeBlocks,
      trainingRawPairs: training.rawPairs,
      trainingSampleRate: training.rate,
      trainingPairs,
    },
    model,
    pairs,
    clusterOf,
    recordProbability,
    clusters,
    candidateCodes,
    explain: (a, b) => explainPair(model, unpackPattern(comparePair(prepared[a]!, prepared[b]!, ctx)), prepared[a]!),
  };
}

function comparePairs(
  prepared: PreparedRecord[],
  codes: Float64Array,
  ctx: ComparisonContext,
  progress: NonNullable<MatchConfig['onProgress']>,
): Int32Array {
  const n = prepared.length;
  const patterns = new Int32Array(codes.length);
  for (let p = 0; p < codes.length; p++) {
    // Decoded inline: no [i, j] array per pair in the two hottest loops.
    const i = Math.floor(codes[p]! / n);
    const j = codes[p]! - i * n;
    patterns[p] = comparePair(prepared[i]!, prepared[j]!, ctx);
    if ((p & 0x3ffff) === 0) progress('compare', p, codes.length);
  }
  progress('compare', codes.length, codes.length);
  return patterns;
}

/**
 * A record order in which records likely to be paired sit together: by a hash of the raw
 * postcode, then of the raw family name (equal values adjacent; the order of distinct values is
 * arbitrary). Only speed depends on it: each comparison reads two records, and visiting pairs
 * in this order keeps the records they read in the CPU cache.
 */
export function localityOrder(records: readonly PersonRecord[]): Int32Array {
  const n = records.length;
  const indexBits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  const familyBits = Math.floor((53 - indexBits) / 3);
  const postcodeBits = 53 - indexBits - familyBits;
  const packed = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const f = records[i]!.fields;
    const postcode = Math.floor(hash52(f.postal_code ?? '') / 2 ** (52 - postcodeBits));
    const family = Math.floor(hash52(f.family_name ?? '') / 2 ** (52 - familyBits));
    packed[i] = (postcode * 2 ** familyBits + family) * 2 ** indexBits + i;
  }
  packed.sort();
  const order = new Int32Array(n);
  for (let r = 0; r < n; r++) order[r] = packed[r]! % 2 ** indexBits;
  return order;
}

/** Records prepared in locality order: local record r is input record order[r]. */
function prepareInOrder(
  records: readonly PersonRecord[],
  order: Int32Array,
  config: MatchConfig,
  progress: NonNullable<MatchConfig['onProgress']>,
): PreparedRecord[] {
  const prepare = createPreparer({ defaultCountry: config.defaultCountry });
  const local: PreparedRecord[] = new Array(records.length);
  for (let r = 0; r < records.length; r++) {
    local[r] = prepare(records[order[r]!]!.fields);
    if ((r & 0xffff) === 0) progress('prepare', r, records.length);
  }
  return local;
}

/** Local pair codes -> input pair codes (i * n + j, i < j), sorted, in the same array. */
function toInputCodes(codes: Float64Array, order: Int32Array): Float64Array {
  const n = order.length;
  const out = codes;
  for (let p = 0; p < codes.length; p++) {
    const r = Math.floor(codes[p]! / n);
    const a = order[r]!;
    const b = order[codes[p]! - r * n]!;
    out[p] = a < b ? a * n + b : b * n + a;
  }
  return out.sort();
}

/** EM over the comparison patterns of scored and training pairs (a sampled pair counts 1 / rate). */
function fitModel(
  records: { inputOrder: PreparedRecord[]; localOrder: PreparedRecord[] },
  sets: { patterns: Int32Array; weight: number }[],
  ctx: ComparisonContext,
  config: MatchConfig,
): FsModel {
  const counts = new Map<number, number>();
  for (const { patterns, weight } of sets)
    for (const code of patterns) counts.set(code, (counts.get(code) ?? 0) + weight);
  // u from random pairs of input indexes (the sample does not depend on the locality order);
  // value counts in locality order (the order in memory).
  const u = estimateU(records.inputOrder, ctx, config.uSamples);
  const fitted = fitEm(counts, u, { maxIterations: config.emMaxIterations, tolerance: 1e-6 });
  return { ...fitted, tf: termFrequencies(records.localOrder) };
}

/** Match weight of any two records (used by the chaining guard for pairs never blocked together). */
function pairScorer(
  model: FsModel,
  prepared: PreparedRecord[],
  ctx: ComparisonContext,
): (i: number, j: number) => number {
  const weights = modelWeights(model);
  return (i, j) =>
    pairWeight(model, weights, unpackPattern(comparePair(prepared[i]!, prepared[j]!, ctx)), prepared[i]!);
}

/** Pairs in the auto and review bands, with input indexes (a < b), in input order of (a, b). */
function scorePairs(
  model: FsModel,
  prepared: PreparedRecord[],
  codes: Float64Array,
  patterns: Int32Array,
  bands: BandConfig,
  order: Int32Array,
): ScoredPair[] {
  const n = prepared.length;
  const weights = modelWeights(model);
  const prior = Math.log2(model.lambda / (1 - model.lambda));
  const baseCache = new Map<number, number>();
  const tfFields = FIELD_COMPARATORS.map((c, f) => ({
    f,
    c,
    tf: model.tf[f],
    div: PATTERN_RADIX ** (FIELD_COMPARATORS.length - 1 - f),
    exact: c.levels.length,
    // Per record (local index), NaN until read: millions of pairs read the adjustment of the
    // same few hundred thousand records, so a typed array replaces a map look-up per pair.
    adjust: new Float64Array(n).fill(Number.NaN),
  })).filter((x) => x.tf);
  const out: ScoredPair[] = [];
  for (let p = 0; p < codes.length; p++) {
    const code = patterns[p]!;
    let w = baseCache.get(code);
    if (w === undefined) {
      w = prior + unpackPattern(code).reduce((s, l, f) => (l < 0 ? s : s + weights[f]![l]!), 0);
      baseCache.set(code, w);
    }
    const r = Math.floor(codes[p]! / n);
    const s = codes[p]! - r * n;
    // a is the record with the lower input index: its value is the one the adjustment reads.
    const first = order[r]! < order[s]! ? r : s;
    const a = order[first]!;
    const b = order[first === r ? s : r]!;
    for (const t of tfFields) {
      // digit = level + 1, so an exact agreement is the digit equal to the number of levels.
      if (Math.floor(code / t.div) % PATTERN_RADIX !== t.exact) continue;
      let adj = t.adjust[first]!;
      if (Number.isNaN(adj)) adj = t.adjust[first] = tfAdjustment(t.tf!, t.c.tfValue!(prepared[first]!));
      w += adj;
    }
    const probability = weightToProbability(w);
    const band = bandOf(probability, bands);
    if (band !== 'reject') out.push({ a, b, probability, band, guarded: false });
  }
  for (const t of tfFields) release(t.adjust);
  return sortByRecords(out, n);
}

/** Pairs ordered by (a, b): a counting sort on a, then the few pairs of each a by b. */
function sortByRecords(pairs: ScoredPair[], n: number): ScoredPair[] {
  const start = new Int32Array(n + 1);
  for (const p of pairs) start[p.a + 1]!++;
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const fill = start.slice(0, n);
  const sorted = new Array<ScoredPair>(pairs.length);
  for (const p of pairs) sorted[fill[p.a]!++] = p;
  for (let i = 0; i < n; i++) {
    for (let x = start[i]! + 1; x < start[i + 1]!; x++) {
      const p = sorted[x]!;
      let y = x - 1;
      for (; y >= start[i]! && sorted[y]!.b > p.b; y--) sorted[y + 1] = sorted[y]!;
      sorted[y + 1] = p;
    }
  }
  return sorted;
}

/**
 * Strong-identifier conflict: two of the personal attributes {given name, date of birth,
 * national id} present on both sides and plainly different (not a typo, nickname, initial or
 * day/month swap). One such difference happens between records of one person; two are the
 * signature of relatives sharing an address, family name and often a phone. Contact points
 * (phone, email) are left out: people change them and households share them.
 */
export function strongConflict(a: PreparedRecord, b: PreparedRecord, ctx: ComparisonContext): boolean {
  // An exactly shared national id outweighs the rest: the other values are then data errors.
  if (a.nationalId !== '' && a.nationalId === b.nationalId) return false;
  let differences = 0;
  if (compareGiven(a, b, ctx) <= 1 && a.given.length > 1 && b.given.length > 1) differences++;
  if (dobDiffers(compareDob(a, b))) differences++;
  if (NATIONAL_ID.compare(a, b, ctx) === 0) differences++;
  return differences >= 2;
}

const NATIONAL_ID = FIELD_COMPARATORS.find((c) => c.name === 'national_id')!;

function markRefused(pairs: ScoredPair[], refused: LinkPair[]): void {
  const refusedSet = new Set(refused);
  for (const p of pairs) {
    if (refusedSet.has(p)) {
      p.band = 'review';
      p.guarded = true;
    }
  }
}

function bestProbabilities(n: number, pairs: ScoredPair[], clusterOf: Int32Array): Float64Array {
  const best = new Float64Array(n).fill(Number.NaN);
  for (const p of pairs) {
    if (p.band !== 'auto' || clusterOf[p.a] !== clusterOf[p.b]) continue;
    if (!(best[p.a]! >= p.probability)) best[p.a] = p.probability;
    if (!(best[p.b]! >= p.probability)) best[p.b] = p.probability;
  }
  return best;
}
