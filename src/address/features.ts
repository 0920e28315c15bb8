import { STATES, SUFFIXES, UNIT_DESIGNATORS, DIRECTIONALS } from './pub28-tables.ts';

/**
 * Tokens and features of the sequence tagger, shared by training (`train.ts`) and tagging
 * (`tagger.ts`) so the two can never disagree.
 */

/**
 * usaddress's own tokenizer: punctuation that ends a token stays on it ("Road," "St."), `#` and
 * `&` are tokens of their own. Using it keeps our tokens equal to the labelled tokens of the
 * training files, and the trailing comma is itself a strong feature (it ends a part).
 */
const TOKEN = /\(*\b[^\s,;#&()]+[.,;)\n]*|[#&]/g;

export function tokenizeForTagger(raw: string): string[] {
  return raw.match(TOKEN) ?? [];
}

/** Neighbour offsets a shared feature is seen from: -2, -1, 0, +1, +2 (slot = offset + 2). */
export const SLOTS = 5;
export const SELF = 2;

export interface TokenFeatures {
  /** Features of the token itself, also seen by its neighbours (word, shape, Pub. 28 classes). */
  shared: string[];
  /** Features seen only at the token's own position (affixes, position in the string). */
  local: string[];
}

const STATE_CODES = new Set([...Object.values(STATES), 'AA', 'AE', 'AP']);
const BOX_WORDS = new Set(['PO', 'P', 'O', 'POB', 'BOX', 'BX', 'POST', 'OFFICE', 'DRAWER', 'CALLER', 'LOCKBOX']);
const ROUTE_WORDS = new Set(['RR', 'RFD', 'HC', 'HCR', 'RURAL', 'ROUTE', 'RTE', 'RT', 'STAR', 'CONTRACT']);
const ROAD_PRE_TYPES = new Set([
  'HWY',
  'HIGHWAY',
  'US',
  'SR',
  'CR',
  'FM',
  'INTERSTATE',
  'I',
  'STATE',
  'COUNTY',
  'ROUTE',
]);
const COUNTRY_WORDS = new Set(['USA', 'US', 'UNITED', 'AMERICA', 'CANADA', 'UK', 'MEXICO', 'ENGLAND', 'KINGDOM']);
// Multi-word state names, as word lists, longest first.
const MULTI_STATES = Object.keys(STATES)
  .filter((s) => s.includes(' '))
  .map((s) => s.split(' '))
  .sort((a, b) => b.length - a.length);
const MULTI_FIRST = new Set(MULTI_STATES.map((w) => w[0]!));

/** Upper case without dots, brackets or trailing punctuation: "P.O." -> "PO", "Road," -> "ROAD". */
export function core(token: string): string {
  return token
    .toUpperCase()
    .replace(/^\(+/, '')
    .replace(/[.,;)\n]+$/, '')
    .replace(/(\D)\.|\.(\D)/g, '$1$2');
}

function shape(word: string): string {
  let out = '';
  let last = '';
  let run = 0;
  for (const ch of word) {
    const c = ch >= '0' && ch <= '9' ? 'd' : /[A-Za-z]/.test(ch) ? 'x' : ch;
    run = c === last ? run + 1 : 1;
    last = c;
    if (run <= 2) out += c;
  }
  return out;
}

/** What a token is on its own, as features: the same wherever it appears. */
export interface TokenOwn extends TokenFeatures {
  /** `core(token)` */
  core: string;
  /** The token's class (Pub. 28 table or digit pattern, and whether a comma ends it). */
  cls: string;
}

/** The features of one token that do not depend on its neighbours (cacheable by token text). */
export function tokenOwn(t: string): TokenOwn {
  const c = core(t);
  const lower = c.toLowerCase();
  const shared = [`w:${lower}`, `sh:${shape(c)}`];
  const digits = /^\d+$/.test(c);
  let cls = 'word';
  if (digits) {
    shared.push(`nd:${Math.min(c.length, 6)}`);
    cls = c.length === 5 ? 'num5' : 'num';
  } else if (/\d/.test(c)) {
    const ord = /^\d+(ST|ND|RD|TH)$/.test(c);
    shared.push(ord ? 'ord' : 'mixed');
    cls = ord ? 'ord' : 'mixed';
  }
  if (/^\d{5}-\d{4}$/.test(c)) shared.push('zip9');
  const comma = /,$/.test(t);
  if (comma) shared.push('comma');
  if (/\./.test(t)) shared.push('dot');
  if (t === '#') shared.push('hash');
  if (t === '&') shared.push('amp');
  if (BOX_WORDS.has(c)) shared.push('boxword');
  if (ROUTE_WORDS.has(c)) shared.push('routeword');
  if (ROAD_PRE_TYPES.has(c)) shared.push('roadword');
  if (COUNTRY_WORDS.has(c)) shared.push('country');
  if (c.length === 1 && /[A-Z]/.test(c)) shared.push('letter');
  if (SUFFIXES[c]) shared.push('suffix', `sfx:${SUFFIXES[c]}`);
  if (UNIT_DESIGNATORS[c]) shared.push('unit');
  if (STATES[c]) shared.push('statename');
  if (STATE_CODES.has(c)) shared.push('statecode');
  // "NW" and "Northwest" share features, so what the training files teach about one holds for both.
  if (DIRECTIONALS[c]) shared.push('dir', `dir:${DIRECTIONALS[c]}`, c.length <= 2 ? 'dirabbr' : 'dirword');
  // One class per token, most specific last wins.
  if (cls === 'word') {
    if (SUFFIXES[c]) cls = 'suffix';
    if (UNIT_DESIGNATORS[c]) cls = 'unit';
    if (BOX_WORDS.has(c) || ROUTE_WORDS.has(c)) cls = 'box';
    if (STATES[c]) cls = 'statename';
    if (STATE_CODES.has(c)) cls = 'statecode';
    if (DIRECTIONALS[c]) cls = 'dir';
    if (t === '#' || t === '&') cls = t;
  }
  if (comma) cls += ',';
  // Affixes of a number say nothing its length does not; leaving them out lets the tagger
  // share one cache entry among all numbers of a length (see `genericNumber` in tagger.ts).
  const local = digits
    ? ['bias', `len:${Math.min(c.length, 8)}`]
    : [
        'bias',
        `p1:${lower.slice(0, 1)}`,
        `p2:${lower.slice(0, 2)}`,
        `s2:${lower.slice(-2)}`,
        `s3:${lower.slice(-3)}`,
        `len:${Math.min(c.length, 8)}`,
      ];
  if (c !== c.toLowerCase() && t === t.toUpperCase()) local.push('allcaps');
  if (/^[A-Z][a-z]/.test(t)) local.push('title');
  return { shared, local, cls, core: c };
}

/**
 * Per token, `CONTEXT_PARTS` small integers: position from the start and from the end, commas
 * before and after, in a multi-word state name, first/last in its comma-separated part.
 */
export const CONTEXT_PARTS = 7;
const EDGES = ['-', 'f', 'l', 'fl'];

/**
 * Where each token stands: position from either end, commas before and after, whether it is part
 * of a multi-word state name, and whether it is first and/or last in its comma-separated part.
 */
export function contextParts(tokens: readonly string[], own: readonly { core: string; cls: string }[]): Int32Array {
  const n = tokens.length;
  const out = new Int32Array(n * CONTEXT_PARTS);
  for (let i = 0; i < n; i++) {
    if (!MULTI_FIRST.has(own[i]!.core)) continue;
    for (const words of MULTI_STATES) {
      if (words.every((w, k) => i + k < n && own[i + k]!.core === w)) {
        for (let k = 0; k < words.length; k++) out[(i + k) * CONTEXT_PARTS + 4] = 1;
        break;
      }
    }
  }
  let commasTotal = 0;
  for (const t of tokens) if (t.endsWith(',')) commasTotal++;
  let commasBefore = 0;
  // How far the street line has got before this token: 0 no number yet, 1 after a number,
  // 2 after a number and then a street type (what follows a closed street is a unit, a
  // building or the city, not more street name).
  let stage = 0;
  for (let i = 0; i < n; i++) {
    out[i * CONTEXT_PARTS + 6] = stage;
    const cls = own[i]!.cls;
    if (stage === 0 && (cls.startsWith('num') || cls.startsWith('mixed'))) stage = 1;
    else if (stage === 1 && cls.startsWith('suffix')) stage = 2;
    const comma = tokens[i]!.endsWith(',');
    const at = i * CONTEXT_PARTS;
    out[at] = Math.min(i, 4);
    out[at + 1] = Math.min(n - 1 - i, 4);
    out[at + 2] = Math.min(commasBefore, 3);
    out[at + 3] = Math.min(commasTotal - commasBefore - (comma ? 1 : 0), 3);
    out[at + 5] = (i === 0 || tokens[i - 1]!.endsWith(',') ? 1 : 0) + (comma || i === n - 1 ? 2 : 0);
    if (comma) commasBefore++;
  }
  return out;
}

/** The classes of tokens i-2 .. i+2 (BOS / EOS past either end). */
export function classWindow(classes: readonly string[], i: number): string[] {
  const n = classes.length;
  return [-2, -1, 0, 1, 2].map((d) => (i + d < 0 ? 'BOS' : i + d >= n ? 'EOS' : classes[i + d]!));
}

/** The context of token `i` as one string (`contextNames` spells it out as features). */
export function contextKey(parts: Int32Array, i: number, classes: readonly string[]): string {
  const at = i * CONTEXT_PARTS;
  const [pos, rpos, cb, ca, multi, edge, stage] = parts.subarray(at, at + CONTEXT_PARTS);
  const [p2, prev, cls, next, n2] = classes;
  return `${pos} ${rpos} ${cb} ${ca} ${prev} ${cls} ${next} ${multi} ${EDGES[edge!]} ${stage} ${p2} ${n2}`;
}

export function contextKeys(tokens: readonly string[], own: readonly { cls: string; core: string }[]): string[] {
  const parts = contextParts(tokens, own);
  const classes = own.map((o) => o.cls);
  return tokens.map((_, i) => contextKey(parts, i, classWindow(classes, i)));
}

/**
 * The features of a context key. Class pairs and triples are features of their own because a
 * linear model cannot combine "a directional" with "after a street type" by itself.
 */
export function contextNames(key: string): string[] {
  const [pos, rpos, cb, ca, prev, cls, next, multiState, edge, stage, p2, n2] = key.split(' ');
  const f = [
    `pos:${pos}`,
    `rpos:${rpos}`,
    `cb:${cb}`,
    `ca:${ca}`,
    `pc:${prev}|${cls}`,
    `cn:${cls}|${next}`,
    `pcn:${prev}|${cls}|${next}`,
    `cca:${cls}|${ca}`,
    `part:${cb}|${edge}|${cls}`,
    `partn:${cb}|${edge}|${cls}|${next}`,
    `st:${stage}|${cls}`,
    `stp:${stage}|${prev}|${cls}`,
    `stc:${stage}|${cb}|${cls}`,
    // Two tokens either side (cross-validation on the training set: 321 held-out addresses of
    // 1407 mistagged, 330 with one token either side): a street type two words before a comma.
    `ppc:${p2}|${prev}|${cls}`,
    `cnn:${cls}|${next}|${n2}`,
    `rnn:${rpos}|${cls}|${next}|${n2}`,
  ];
  if (multiState === '1') f.push('state2');
  return f;
}

/** Features of every token of one address (training; the tagger caches `tokenOwn`). */
export function featurize(tokens: readonly string[]): TokenFeatures[] {
  const own = tokens.map(tokenOwn);
  const ctx = contextKeys(tokens, own);
  return own.map((o, i) => ({ shared: o.shared, local: [...o.local, ...contextNames(ctx[i]!)] }));
}

/** Features of the virtual tokens before the first and after the last (seen from neighbours). */
export const BEFORE_START = ['bos'];
export const AFTER_END = ['eos'];
