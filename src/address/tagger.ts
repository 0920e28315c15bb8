import { readFileSync } from 'node:fs';
import { AFTER_END, BEFORE_START, featurize, SELF, SLOTS, tokenizeForTagger } from './features.ts';

/**
 * Sequence tagger for US address tokens, with usaddress's tag set (`AddressNumber`,
 * `StreetName`, `PlaceName`, ...).
 *
 * Model: an averaged structured perceptron with first-order (tag bigram) Viterbi decoding,
 * trained by `train.ts` on usaddress's training files only. Why a perceptron and not a
 * linear-chain CRF: with ~1,600 labelled addresses both reach about the same accuracy on this
 * task (usaddress's CRF is the reference), while the perceptron needs no gradient, no
 * forward-backward and no optimiser, trains deterministically in seconds in plain TypeScript, and
 * its averaged weights round to small integers, which keeps the shipped model file small.
 * Decoding is the same Viterbi either way, so the speed is the same.
 *
 * The model (`model/tagger.json`) is read on first use, once, never at import time.
 */

export interface TaggerModel {
  version: 1;
  tags: string[];
  /** Weights are integers; `scale` is what the averaged weights were multiplied by. */
  scale: number;
  /** start[tag], end[tag], trans[prev * T + tag] */
  start: number[];
  end: number[];
  trans: number[];
  /** feature -> [slot * T + tag, weight, slot * T + tag, weight, ...] */
  feats: Record<string, number[]>;
}

interface Compiled {
  tags: string[];
  T: number;
  ids: Map<string, number>;
  /** Row offset into `w` of (feature id, slot), -1 when the model has no weight there. */
  rowOf: Int32Array;
  w: Float32Array;
  start: Float32Array;
  end: Float32Array;
  trans: Float32Array;
}

const MODEL_FILE = new URL('./model/tagger.json', import.meta.url);
let compiled: Compiled | undefined;

export function compileModel(model: TaggerModel): Compiled {
  const T = model.tags.length;
  const names = Object.keys(model.feats);
  const ids = new Map(names.map((n, i) => [n, i]));
  const rowOf = new Int32Array(names.length * SLOTS).fill(-1);
  let rows = 0;
  names.forEach((n, id) => {
    const pairs = model.feats[n]!;
    for (let k = 0; k < pairs.length; k += 2) {
      const slot = Math.floor(pairs[k]! / T);
      if (rowOf[id * SLOTS + slot] === -1) rowOf[id * SLOTS + slot] = rows++ * T;
    }
  });
  const w = new Float32Array(rows * T);
  names.forEach((n, id) => {
    const pairs = model.feats[n]!;
    for (let k = 0; k < pairs.length; k += 2) {
      const slot = Math.floor(pairs[k]! / T);
      w[rowOf[id * SLOTS + slot]! + (pairs[k]! % T)] = pairs[k + 1]!;
    }
  });
  return {
    tags: model.tags,
    T,
    ids,
    rowOf,
    w,
    start: Float32Array.from(model.start),
    end: Float32Array.from(model.end),
    trans: Float32Array.from(model.trans),
  };
}

function loaded(): Compiled {
  compiled ??= compileModel(JSON.parse(readFileSync(MODEL_FILE, 'utf8')) as TaggerModel);
  return compiled;
}

export interface Tagged {
  tokens: string[];
  tags: string[];
}

/** Tokens of `raw` (usaddress's tokenizer) and the most likely tag of each. */
export function tagAddress(raw: string, model: Compiled = loaded()): Tagged {
  const tokens = tokenizeForTagger(raw.replace(/&(?:amp|#38);/g, '&'));
  if (!tokens.length) return { tokens, tags: [] };
  const emissions = emissionScores(tokens, model);
  const path = viterbi(emissions, tokens.length, model.T, model.start, model.trans, model.end);
  return { tokens, tags: path.map((y) => model.tags[y]!) };
}

function emissionScores(tokens: string[], m: Compiled): Float32Array {
  const n = tokens.length;
  const { T, ids, rowOf, w } = m;
  const feats = featurize(tokens);
  const idsOf = (names: readonly string[]): number[] => {
    const out: number[] = [];
    for (const name of names) {
      const id = ids.get(name);
      if (id !== undefined) out.push(id);
    }
    return out;
  };
  const shared = feats.map((f) => idsOf(f.shared));
  const local = feats.map((f) => idsOf(f.local));
  const bos = idsOf(BEFORE_START);
  const eos = idsOf(AFTER_END);
  const e = new Float32Array(n * T);
  const add = (i: number, id: number, slot: number) => {
    const row = rowOf[id * SLOTS + slot]!;
    if (row < 0) return;
    const base = i * T;
    for (let y = 0; y < T; y++) e[base + y]! += w[row + y]!;
  };
  for (let i = 0; i < n; i++) {
    for (let slot = 0; slot < SLOTS; slot++) {
      const j = i + slot - SELF;
      for (const id of j < 0 ? bos : j >= n ? eos : shared[j]!) add(i, id, slot);
    }
    for (const id of local[i]!) add(i, id, SELF);
  }
  return e;
}

/** Best tag path under emission + bigram transition scores (first-order Viterbi). */
export function viterbi(
  e: ArrayLike<number>,
  n: number,
  T: number,
  start: ArrayLike<number>,
  trans: ArrayLike<number>,
  end: ArrayLike<number>,
): number[] {
  const score = new Float64Array(n * T);
  const back = new Int32Array(n * T);
  for (let y = 0; y < T; y++) score[y] = start[y]! + e[y]!;
  for (let i = 1; i < n; i++) {
    const prev = (i - 1) * T;
    for (let y = 0; y < T; y++) {
      let best = -Infinity;
      let arg = 0;
      for (let p = 0; p < T; p++) {
        const s = score[prev + p]! + trans[p * T + y]!;
        if (s > best) {
          best = s;
          arg = p;
        }
      }
      score[i * T + y] = best + e[i * T + y]!;
      back[i * T + y] = arg;
    }
  }
  let best = -Infinity;
  let y = 0;
  for (let t = 0; t < T; t++) {
    const s = score[(n - 1) * T + t]! + end[t]!;
    if (s > best) {
      best = s;
      y = t;
    }
  }
  const path = new Array<number>(n);
  for (let i = n - 1; i >= 0; i--) {
    path[i] = y;
    y = back[i * T + y]!;
  }
  return path;
}
