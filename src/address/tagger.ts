import { readFileSync } from 'node:fs';
import {
  AFTER_END,
  BEFORE_START,
  CONTEXT_PARTS,
  classWindow,
  contextKey,
  contextNames,
  contextParts,
  core,
  SELF,
  SLOTS,
  tokenizeForTagger,
  tokenOwn,
} from './features.ts';

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
  /**
   * start[tag], end[tag], trans[prev * T + tag], and trans_comma[prev * T + tag] added to trans
   * when a comma ends the previous token: a comma ends a part, so what may follow it differs.
   */
  start: number[];
  end: number[];
  trans: number[];
  trans_comma: number[];
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
  start: Float64Array;
  end: Float64Array;
  trans: Float64Array;
  transComma: Float64Array;
  /** Token text -> its class and the ids of its own features (bounded; cleared when full). */
  cache: Map<string, CachedToken>;
  /** Numeric context key -> the summed weights of its context features at the token's own slot. */
  contexts: Map<number, Float32Array>;
  /** Ids of an address's cached tokens, joined -> its tags (bounded; cleared when full). */
  paths: Map<string, string[]>;
  classIds: Map<string, number>;
  /** 0 decodes over every tag (exact Viterbi); otherwise the beam below. */
  beam?: number;
  /** Slot scores of the virtual tokens before the start and after the end. */
  bos?: Float32Array;
  eos?: Float32Array;
}

/**
 * What a token contributes wherever it stands: its class, and the summed weights of its own
 * features for each neighbour slot (`scores[slot * T + tag]`). Caching this per token text turns
 * ~100 weight rows per token into 5 vector additions; the context features are added per address.
 */
interface CachedToken {
  /** Unique per cached token (never reused, also after the cache is cleared): keys `paths`. */
  id: number;
  cls: string;
  /** Small integer id of `cls` (for numeric context keys). */
  clsId: number;
  core: string;
  scores: Float32Array;
}

const CACHE_LIMIT = 20_000;
// Paths repeat far more than whole addresses: house numbers share one token (cacheKey), so every
// house on a street (and every record of a household) reads the same tokens.
const PATH_LIMIT = 100_000;
let nextTokenId = 0;

/** Forget cached tokens (the benchmark's cold-cache figure). */
export function clearTaggerCache(): void {
  compiled?.cache.clear();
  compiled?.contexts.clear();
  compiled?.paths.clear();
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
    start: Float64Array.from(model.start),
    end: Float64Array.from(model.end),
    trans: Float64Array.from(model.trans),
    transComma: Float64Array.from(model.trans_comma),
    cache: new Map(),
    contexts: new Map(),
    paths: new Map(),
    classIds: new Map([
      ['BOS', 0],
      ['EOS', 1],
    ]),
  };
}

/** Whether the model file has been read (it is read on the first address, not at import). */
export function isModelLoaded(): boolean {
  return compiled !== undefined;
}

/** Reads the model now (a server does it at start, so the first webhook does not wait for it). */
export function loadTaggerModel(): void {
  loaded();
}

function loaded(): Compiled {
  compiled ??= compileModel(JSON.parse(readFileSync(MODEL_FILE, 'utf8')) as TaggerModel);
  return compiled;
}

export interface Tagged {
  tokens: string[];
  tags: string[];
  /** Each token upper case without dots and trailing punctuation (`core` in features.ts). */
  cores: string[];
}

/** Tokens of `raw` (usaddress's tokenizer) and the most likely tag of each. */
export function tagAddress(raw: string, model: Compiled = loaded()): Tagged {
  const tokens = tokenizeForTagger(plainText(raw));
  if (!tokens.length) return { tokens, tags: [], cores: [] };
  const own = tokens.map((t) => ownOf(t, model));
  // The path depends on the tokens only through their cached entries (a token's entry is a
  // function of its cache key, commas included), so equal entry sequences give equal tags.
  const key = own.map((o) => o.id).join(',');
  let tags = model.paths.get(key);
  if (tags === undefined) {
    tags = decode(tokens, own, model);
    if (model.paths.size >= PATH_LIMIT) model.paths.clear();
    model.paths.set(key, tags);
  }
  return {
    tokens,
    tags: tags.slice(),
    cores: own.map((o, i) => (o.core.startsWith('0') ? core(tokens[i]!) : o.core)),
  };
}

function decode(tokens: string[], own: CachedToken[], model: Compiled): string[] {
  const emissions = emissionScores(tokens, own, model);
  const comma = commaBefore(tokens);
  const { T, start, trans, transComma, end } = model;
  const path =
    model.beam === 0
      ? viterbi(emissions, tokens.length, T, start, trans, end, comma, transComma)
      : beamViterbi(emissions, tokens.length, model, comma);
  return path.map((y) => model.tags[y]!);
}

/**
 * Text pasted from web forms: HTML character references decoded ("60642&#8212;2534") and any
 * Unicode dash made a hyphen, so a ZIP+4 or a house-number range reads as one token.
 */
function plainText(raw: string): string {
  if (!raw.includes('&') && !/[\u2010-\u2015\u2212]/.test(raw)) return raw;
  return raw
    .replace(/&(?:amp|#38);/g, '&')
    .replace(/&#(\d{1,7});|&#x([\da-f]{1,6});/gi, (m, dec?: string, hex?: string) => {
      const code = dec ? Number(dec) : Number.parseInt(hex!, 16);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    })
    .replace(/[\u2010-\u2015\u2212]/g, '-');
}

const NUMBER = /^\d+[.,;)]*$/;

/**
 * A number the model has no word weight for ("48213") is tagged by its length and punctuation
 * alone, so all such numbers share one cache entry ("00000"): house numbers and ZIP codes are
 * the tokens that repeat least.
 */
function cacheKey(token: string, m: Compiled): string {
  if (!NUMBER.test(token)) return token;
  const digits = token.replace(/\D/g, '');
  return m.ids.has(`w:${digits}`) ? token : token.replace(/\d/g, '0');
}

function ownOf(token: string, m: Compiled): CachedToken {
  const key = cacheKey(token, m);
  let hit = m.cache.get(key);
  if (hit) return hit;
  const { T, ids, rowOf, w } = m;
  const own = tokenOwn(key);
  const scores = new Float32Array(SLOTS * T);
  const add = (name: string, slots: number) => {
    const id = ids.get(name);
    if (id === undefined) return;
    for (let slot = slots === 1 ? SELF : 0; slot < (slots === 1 ? SELF + 1 : SLOTS); slot++) {
      const row = rowOf[id * SLOTS + slot]!;
      if (row >= 0) for (let y = 0; y < T; y++) scores[slot * T + y]! += w[row + y]!;
    }
  };
  for (const name of own.shared) add(name, SLOTS);
  for (const name of own.local) add(name, 1);
  let clsId = m.classIds.get(own.cls);
  if (clsId === undefined) m.classIds.set(own.cls, (clsId = m.classIds.size));
  hit = { id: nextTokenId++, cls: own.cls, clsId, core: own.core, scores };
  if (m.cache.size >= CACHE_LIMIT) m.cache.clear();
  m.cache.set(key, hit);
  return hit;
}

function edgeScores(m: Compiled, names: readonly string[]): Float32Array {
  const { T, ids, rowOf, w } = m;
  const scores = new Float32Array(SLOTS * T);
  for (const name of names) {
    const id = ids.get(name);
    for (let slot = 0; slot < SLOTS && id !== undefined; slot++) {
      const row = rowOf[id * SLOTS + slot]!;
      if (row >= 0) for (let y = 0; y < T; y++) scores[slot * T + y]! += w[row + y]!;
    }
  }
  return scores;
}

/**
 * The summed context weights of token `i`, cached under a number built from its context parts
 * and the class ids of it and its neighbours (no string to build or hash on a hit).
 */
function contextOf(parts: Int32Array, i: number, own: CachedToken[], m: Compiled): Float32Array {
  const n = own.length;
  const at = i * CONTEXT_PARTS;
  // Each part is below 8 and there are far fewer than 64 classes: 7 * 3 + 5 * 6 = 51 bits,
  // exact in a double.
  let key = 0;
  for (let k = 0; k < CONTEXT_PARTS; k++) key = key * 8 + parts[at + k]!;
  for (let j = i - 2; j <= i + 2; j++) key = key * 64 + (j < 0 ? 0 : j >= n ? 1 : own[j]!.clsId);
  let hit = m.contexts.get(key);
  if (hit) return hit;
  const { T, ids, rowOf, w } = m;
  hit = new Float32Array(T);
  const classes = classWindow(
    own.map((o) => o.cls),
    i,
  );
  const names = contextNames(contextKey(parts, i, classes));
  for (const name of names) {
    const id = ids.get(name);
    const row = id === undefined ? -1 : rowOf[id * SLOTS + SELF]!;
    if (row >= 0) for (let y = 0; y < T; y++) hit[y]! += w[row + y]!;
  }
  if (m.contexts.size >= CACHE_LIMIT) m.contexts.clear();
  m.contexts.set(key, hit);
  return hit;
}

// Scratch space reused across calls (one address at a time: the tagger is synchronous).
let scratch = new Float64Array(1024);
let scores = new Float64Array(1024);
let backs = new Int32Array(1024);

function buffer(size: number): Float64Array {
  if (scratch.length < size) scratch = new Float64Array(size * 2);
  return scratch;
}

function emissionScores(tokens: string[], own: CachedToken[], m: Compiled): Float64Array {
  const n = tokens.length;
  const T = m.T;
  const parts = contextParts(tokens, own);
  m.bos ??= edgeScores(m, BEFORE_START);
  m.eos ??= edgeScores(m, AFTER_END);
  const e = buffer(n * T);
  for (let i = 0; i < n; i++) {
    const base = i * T;
    const ctx = contextOf(parts, i, own, m);
    for (let y = 0; y < T; y++) e[base + y] = ctx[y]!;
    for (let slot = 0; slot < SLOTS; slot++) {
      const j = i + slot - SELF;
      const src = j < 0 ? m.bos : j >= n ? m.eos : own[j]!.scores;
      const off = slot * T;
      for (let y = 0; y < T; y++) e[base + y]! += src[off + y]!;
    }
  }
  return e;
}

/** Candidate tags kept per token: the best `BEAM` by emission score. */
const BEAM = 8;
let cands = new Int32Array(1024);
let beamScores = new Float64Array(1024);
let beamBacks = new Int32Array(1024);

/**
 * Viterbi over each token's `BEAM` best tags by emission score instead of all of them: the
 * emission scores are peaked (a token is one of a few tags), so this finds the same path on
 * usaddress's test files and training files while doing ~20 times fewer transitions.
 */
function beamViterbi(e: Float64Array, n: number, m: Compiled, comma: Uint8Array): number[] {
  const { T, start, trans, transComma, end } = m;
  const K = Math.min(BEAM, T);
  if (cands.length < n * K) {
    cands = new Int32Array(n * K * 2);
    beamScores = new Float64Array(n * K * 2);
    beamBacks = new Int32Array(n * K * 2);
  }
  for (let i = 0; i < n; i++) {
    // Insertion of each tag into a sorted top-K list (K is small).
    const base = i * K;
    let size = 0;
    for (let y = 0; y < T; y++) {
      const v = e[i * T + y]!;
      if (size === K && v <= e[i * T + cands[base + K - 1]!]!) continue;
      let at = size < K ? size++ : K - 1;
      while (at > 0 && e[i * T + cands[base + at - 1]!]! < v) {
        cands[base + at] = cands[base + at - 1]!;
        at--;
      }
      cands[base + at] = y;
    }
  }
  for (let a = 0; a < K; a++) beamScores[a] = start[cands[a]!]! + e[cands[a]!]!;
  for (let i = 1; i < n; i++) {
    const across = comma[i] === 1;
    for (let a = 0; a < K; a++) {
      const y = cands[i * K + a]!;
      let best = -Infinity;
      let arg = 0;
      for (let b = 0; b < K; b++) {
        const k = cands[(i - 1) * K + b]! * T + y;
        const s = beamScores[(i - 1) * K + b]! + trans[k]! + (across ? transComma[k]! : 0);
        if (s > best) {
          best = s;
          arg = b;
        }
      }
      beamScores[i * K + a] = best + e[i * T + y]!;
      beamBacks[i * K + a] = arg;
    }
  }
  let best = -Infinity;
  let a = 0;
  for (let b = 0; b < K; b++) {
    const s = beamScores[(n - 1) * K + b]! + end[cands[(n - 1) * K + b]!]!;
    if (s > best) {
      best = s;
      a = b;
    }
  }
  const path = new Array<number>(n);
  for (let i = n - 1; i >= 0; i--) {
    path[i] = cands[i * K + a]!;
    a = beamBacks[i * K + a]!;
  }
  return path;
}

/** Best tag path under emission + bigram transition scores (first-order Viterbi). */
/** 1 at each token whose previous token ends with a comma. */
export function commaBefore(tokens: readonly string[]): Uint8Array {
  const out = new Uint8Array(tokens.length);
  for (let i = 1; i < tokens.length; i++) if (tokens[i - 1]!.endsWith(',')) out[i] = 1;
  return out;
}

export function viterbi(
  e: ArrayLike<number>,
  n: number,
  T: number,
  start: ArrayLike<number>,
  trans: ArrayLike<number>,
  end: ArrayLike<number>,
  comma: ArrayLike<number>,
  transComma: ArrayLike<number>,
): number[] {
  if (scores.length < n * T) [scores, backs] = [new Float64Array(n * T * 2), new Int32Array(n * T * 2)];
  const score = scores;
  const back = backs;
  for (let y = 0; y < T; y++) score[y] = start[y]! + e[y]!;
  for (let i = 1; i < n; i++) {
    const prev = (i - 1) * T;
    const across = comma[i] === 1;
    for (let y = 0; y < T; y++) {
      let best = -Infinity;
      let arg = 0;
      for (let p = 0; p < T; p++) {
        const s = score[prev + p]! + trans[p * T + y]! + (across ? transComma[p * T + y]! : 0);
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
