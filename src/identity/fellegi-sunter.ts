import { FIELD_COMPARATORS, unpackPattern, type ComparisonContext, type FieldComparator } from './comparators.ts';
import type { PreparedRecord } from './types.ts';

/** A fitted Fellegi-Sunter model over the fields of FIELD_COMPARATORS. */
export interface FsModel {
  /** Prior probability that a candidate pair is a match. */
  lambda: number;
  /** m[f][level] = P(level | match); u[f][level] = P(level | non-match). */
  m: number[][];
  u: number[][];
  iterations: number;
  /** Per field with a term-frequency value: value -> relative frequency, and the mean chance
   * that two random records agree exactly (sum of squared frequencies). */
  tf: (TermFrequencies | null)[];
}

export interface TermFrequencies {
  freq: Map<string, number>;
  meanAgreement: number;
  /**
   * Frequency of a value not in `freq` (a stored model keeps only the common values: any other
   * is at most this frequent). Absent: an unknown value gets no adjustment.
   */
  floor?: number;
}

export interface EmOptions {
  maxIterations: number;
  tolerance: number;
}

const EPS = 1e-6;
const PRIOR_PAIRS = 20;
const PRIOR_LAMBDA = 0.3;
const U_PRIOR_PAIRS = 100;
// Term-frequency adjustments are capped: a one-off value in a small file must not outweigh
// the other fields' evidence.
const TF_CAP_BITS = 4;

/** u from random pairs: nearly all random pairs are non-matches, so their levels estimate u. */
export function estimateU(
  records: readonly PreparedRecord[],
  ctx: ComparisonContext,
  samples: number,
  seed = 1,
): number[][] {
  // Prior: random pairs almost always disagree. Worth U_PRIOR_PAIRS pairs, it only matters
  // for tiny inputs, where a few records sharing a value would otherwise look "common".
  const counts = FIELD_COMPARATORS.map((c) =>
    c.levels.map((_, l) => (l === 0 ? 0.97 : 0.03 / (c.levels.length - 1)) * U_PRIOR_PAIRS),
  );
  const count = (i: number, j: number): void => {
    FIELD_COMPARATORS.forEach((c, f) => {
      const level = c.compare(records[i]!, records[j]!, ctx);
      if (level >= 0) counts[f]![level]!++;
    });
  };
  const n = records.length;
  if ((n * (n - 1)) / 2 <= samples) {
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) count(i, j);
    return counts.map(normalize);
  }
  const rand = mulberry32(seed);
  for (let s = 0; s < samples; s++) {
    const i = Math.floor(rand() * n);
    let j = Math.floor(rand() * (n - 1));
    if (j >= i) j++;
    count(i, j);
  }
  return counts.map(normalize);
}

/** Initial m: most matches agree exactly; the rest spread over the lower levels. */
function initialM(c: FieldComparator): number[] {
  const top = c.levels.length - 1;
  return c.levels.map((_, l) => (l === top ? 0.85 : l === 0 ? 0.03 : 0.12 / Math.max(1, top - 1)));
}

/**
 * Expectation-maximisation over the counts of comparison patterns (no labels). Patterns are
 * packed vectors (see comparePair); missing levels carry no evidence and are skipped.
 */
export function fitEm(patternCounts: Map<number, number>, uInit: number[][], opts: EmOptions): Omit<FsModel, 'tf'> {
  const patterns = [...patternCounts.entries()].map(([code, count]) => ({ levels: unpackPattern(code), count }));
  // Three latent classes: 0 = same person, 1 = same household/place but another person,
  // 2 = unrelated. Blocking on address and family name brings in many relatives; with only two
  // classes EM tends to learn "same household" as the match class. The two non-match classes
  // are folded into one u at the end, so scoring stays an additive Fellegi-Sunter model.
  const priors = [
    FIELD_COMPARATORS.map(initialM).map(normalize),
    FIELD_COMPARATORS.map((c, f) => (c.personal ? [...uInit[f]!] : initialM(c))).map(normalize),
    uInit.map((row) => [...row]),
  ];
  const priorShare = [PRIOR_LAMBDA, (1 - PRIOR_LAMBDA) / 2, (1 - PRIOR_LAMBDA) / 2];
  let params = priors;
  let share = priorShare;
  let iterations = 0;
  for (; iterations < opts.maxIterations; iterations++) {
    // The initial values act as a weak prior (PRIOR_PAIRS pairs' worth), so a tiny input with a
    // handful of candidate pairs still gets sensible parameters instead of a degenerate fit.
    const acc = priors.map((cls, k) => cls.map((row) => row.map((v) => v * PRIOR_PAIRS * priorShare[k]!)));
    const mass = priorShare.map((s) => s * PRIOR_PAIRS);
    for (const { levels, count } of patterns) {
      const g = posteriors(levels, params, share);
      for (let k = 0; k < 3; k++) {
        const w = g[k]! * count;
        mass[k]! += w;
        levels.forEach((l, f) => {
          if (l >= 0) acc[k]![f]![l]! += w;
        });
      }
    }
    const total = mass.reduce((x, y) => x + y, 0);
    const next = acc.map((cls, k) =>
      cls
        .map(normalize)
        .map((row, f) => (k === 0 ? capDisagreement(row, f) : k === 1 && fixedForRelatives(f) ? priors[1]![f]! : row)),
    );
    const nextShare = mass.map((x) => clamp(x / total));
    const delta = Math.max(
      ...nextShare.map((x, k) => Math.abs(x - share[k]!)),
      ...next.map((cls, k) => maxDiff(cls, params[k]!)),
    );
    [params, share] = [next, nextShare];
    if (delta < opts.tolerance) break;
  }
  const nonMatch = share[1]! + share[2]!;
  const u = params[1]!.map((row, f) =>
    row.map((v, l) => clamp((share[1]! * v + share[2]! * params[2]![f]![l]!) / nonMatch)),
  );
  return { lambda: share[0]!, m: params[0]!, u, iterations };
}

// Relatives share a family name, an address and contact points, but their other personal
// attributes (given name, date of birth, national id) agree only by chance: for the relatives
// class those stay at the random-pair u instead of being learned, so heavily corrupted
// duplicates of one person (which still agree on some personal attribute) are not taken for
// relatives.
function fixedForRelatives(f: number): boolean {
  const c = FIELD_COMPARATORS[f]!;
  return c.personal === true && c.name !== 'family_name';
}

function posteriors(levels: number[], params: number[][][], share: number[]): number[] {
  const logs = share.map((s, k) =>
    levels.reduce((acc, l, f) => (l < 0 ? acc : acc + Math.log(params[k]![f]![l]!)), Math.log(s)),
  );
  const max = Math.max(...logs);
  const exps = logs.map((x) => Math.exp(x - max));
  const sum = exps.reduce((x, y) => x + y, 0);
  return exps.map((x) => x / sum);
}

// The match class must mean "same person", not "same household": records of one person rarely
// disagree completely on personal attributes (name, date of birth, national id), while
// relatives at one address disagree on them as a rule. Without this bound EM happily learns
// the household (address agreement) as the match class. Applied to fields with `personal`.
const MAX_M_DISAGREE = 0.15;

function capDisagreement(row: number[], f: number): number[] {
  if (!FIELD_COMPARATORS[f]!.personal || row[0]! <= MAX_M_DISAGREE) return row;
  const rest = 1 - row[0]!;
  return row.map((v, l) => (l === 0 ? MAX_M_DISAGREE : (v / rest) * (1 - MAX_M_DISAGREE)));
}

/** Relative frequencies of each term-frequency field's values. */
export function termFrequencies(records: readonly PreparedRecord[]): (TermFrequencies | null)[] {
  return FIELD_COMPARATORS.map((c) => {
    const get = c.tfValue;
    if (!get) return null;
    const counts = new Map<string, number>();
    let present = 0;
    for (const r of records) {
      const v = get(r);
      if (v === '') continue;
      present++;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    // Counts become frequencies in place: at a million records a second map of every distinct
    // family name and street was a few hundred MB of garbage.
    let meanAgreement = 0;
    for (const [v, k] of counts) {
      const p = k / Math.max(1, present);
      counts.set(v, p);
      meanAgreement += p * p;
    }
    return { freq: counts, meanAgreement };
  });
}

/** log2 Bayes factor per field and level. */
export function levelWeights(model: Pick<FsModel, 'm' | 'u'>): number[][] {
  return model.m.map((row, f) => row.map((mv, l) => Math.log2(mv / model.u[f]![l]!)));
}

const weightCache = new WeakMap<object, { m: number[][]; u: number[][]; weights: number[][] }>();

/**
 * levelWeights of a model, computed once per model object (explainPair runs for every candidate
 * of every ingested event). A model whose m or u arrays were replaced (re-estimated) gets new
 * weights; the rows must not be changed in place (models are rebuilt, never edited).
 */
export function modelWeights(model: Pick<FsModel, 'm' | 'u'>): number[][] {
  const hit = weightCache.get(model);
  if (hit && hit.m === model.m && hit.u === model.u) return hit.weights;
  const weights = levelWeights(model);
  weightCache.set(model, { m: model.m, u: model.u, weights });
  return weights;
}

/**
 * Term-frequency adjustment (bits) for an exact agreement on `value`: agreeing on a rare value
 * is stronger evidence than agreeing on a common one. Relative to the average agreement.
 */
export function tfAdjustment(tf: TermFrequencies, value: string): number {
  const p = tf.freq.get(value) ?? tf.floor;
  if (p === undefined || p <= 0) return 0;
  const bits = Math.log2(tf.meanAgreement / p);
  return Math.max(-TF_CAP_BITS, Math.min(TF_CAP_BITS, bits));
}

/** Scores pairs: match weight (log2 odds, prior included) for the packed pattern of a pair. */
export function pairWeight(model: FsModel, weights: number[][], levels: number[], a: PreparedRecord): number {
  let w = Math.log2(model.lambda / (1 - model.lambda));
  for (let f = 0; f < levels.length; f++) {
    const l = levels[f]!;
    if (l < 0) continue;
    w += weights[f]![l]!;
    const tf = model.tf[f];
    if (tf && l === weights[f]!.length - 1) w += tfAdjustment(tf, FIELD_COMPARATORS[f]!.tfValue!(a));
  }
  return w;
}

export function weightToProbability(w: number): number {
  return 1 / (1 + Math.pow(2, -w));
}

export interface FieldExplanation {
  field: string;
  level: string;
  weight: number;
  tf_adjustment: number;
}

export interface Explanation {
  match_probability: number;
  match_weight: number;
  prior_weight: number;
  fields: FieldExplanation[];
}

/** Why a pair scored as it did: each field's agreement level and its weight in bits. */
export function explainPair(model: FsModel, levels: number[], a: PreparedRecord): Explanation {
  const weights = modelWeights(model);
  const prior = Math.log2(model.lambda / (1 - model.lambda));
  const fields = FIELD_COMPARATORS.map((c, f): FieldExplanation => {
    const l = levels[f]!;
    if (l < 0) return { field: c.name, level: 'missing', weight: 0, tf_adjustment: 0 };
    const tf = model.tf[f];
    const adj = tf && l === c.levels.length - 1 ? tfAdjustment(tf, c.tfValue!(a)) : 0;
    return { field: c.name, level: c.levels[l]!, weight: round(weights[f]![l]!), tf_adjustment: round(adj) };
  });
  const total = prior + fields.reduce((s, x) => s + x.weight + x.tf_adjustment, 0);
  return {
    match_probability: weightToProbability(total),
    match_weight: round(total),
    prior_weight: round(prior),
    fields,
  };
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

function normalize(row: number[]): number[] {
  const sum = row.reduce((a, b) => a + b, 0);
  return row.map((v) => clamp(v / sum));
}

function clamp(p: number): number {
  return Math.min(1 - EPS, Math.max(EPS, p));
}

function maxDiff(a: number[][], b: number[][]): number {
  let d = 0;
  a.forEach((row, f) => row.forEach((v, l) => (d = Math.max(d, Math.abs(v - b[f]![l]!)))));
  return d;
}

/** Small deterministic PRNG so runs are reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
