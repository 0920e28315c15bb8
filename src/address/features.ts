import { STATES, SUFFIXES, UNIT_DESIGNATORS } from './pub28-tables.ts';

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

const DIRECTIONAL = new Set([
  'N',
  'S',
  'E',
  'W',
  'NE',
  'NW',
  'SE',
  'SW',
  'NORTH',
  'SOUTH',
  'EAST',
  'WEST',
  'NORTHEAST',
  'NORTHWEST',
  'SOUTHEAST',
  'SOUTHWEST',
]);
const STATE_CODES = new Set([...Object.values(STATES), 'AA', 'AE', 'AP']);
const BOX_WORDS = new Set(['PO', 'P', 'O', 'POB', 'BOX', 'BX', 'POST', 'OFFICE', 'DRAWER', 'CALLER', 'LOCKBOX']);
const ROUTE_WORDS = new Set(['RR', 'RFD', 'HC', 'HCR', 'RURAL', 'ROUTE', 'RTE', 'RT', 'STAR', 'CONTRACT']);
const ROAD_PRE_TYPES = new Set(['HWY', 'HIGHWAY', 'US', 'SR', 'CR', 'FM', 'INTERSTATE', 'I', 'STATE', 'COUNTY', 'ROUTE']);
const COUNTRY_WORDS = new Set(['USA', 'US', 'UNITED', 'AMERICA', 'CANADA', 'UK', 'MEXICO', 'ENGLAND', 'KINGDOM']);
// Multi-word state names, as word lists, longest first.
const MULTI_STATES = Object.keys(STATES)
  .filter((s) => s.includes(' '))
  .map((s) => s.split(' '))
  .sort((a, b) => b.length - a.length);

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

/** Features of every token of one address. */
export function featurize(tokens: readonly string[]): TokenFeatures[] {
  const n = tokens.length;
  const cores = tokens.map(core);
  const inMultiState = new Array<boolean>(n).fill(false);
  for (let i = 0; i < n; i++) {
    for (const words of MULTI_STATES) {
      if (words.every((w, k) => cores[i + k] === w)) {
        for (let k = 0; k < words.length; k++) inMultiState[i + k] = true;
        break;
      }
    }
  }
  const commaAt = tokens.map((t) => /,$/.test(t));
  const commasTotal = commaAt.filter(Boolean).length;
  let commasBefore = 0;
  const out: TokenFeatures[] = [];
  for (let i = 0; i < n; i++) {
    const t = tokens[i]!;
    const c = cores[i]!;
    const lower = c.toLowerCase();
    const shared = [`w:${lower}`, `sh:${shape(c)}`];
    const digits = /^\d+$/.test(c);
    if (digits) shared.push(`nd:${Math.min(c.length, 6)}`);
    else if (/\d/.test(c)) shared.push(/^\d+(ST|ND|RD|TH)$/.test(c) ? 'ord' : 'mixed');
    if (/^\d{5}-\d{4}$/.test(c)) shared.push('zip9');
    if (commaAt[i]) shared.push('comma');
    if (/\./.test(t)) shared.push('dot');
    if (t === '#') shared.push('hash');
    if (t === '&') shared.push('amp');
    if (SUFFIXES[c]) shared.push('suffix', `sfx:${SUFFIXES[c]}`);
    if (DIRECTIONAL.has(c)) shared.push(c.length <= 2 ? 'dir' : 'dirword');
    if (UNIT_DESIGNATORS[c]) shared.push('unit');
    if (STATES[c]) shared.push('statename');
    if (STATE_CODES.has(c)) shared.push('statecode');
    if (inMultiState[i]) shared.push('state2');
    if (BOX_WORDS.has(c)) shared.push('boxword');
    if (ROUTE_WORDS.has(c)) shared.push('routeword');
    if (ROAD_PRE_TYPES.has(c)) shared.push('roadword');
    if (COUNTRY_WORDS.has(c)) shared.push('country');
    if (c.length === 1 && /[A-Z]/.test(c)) shared.push('letter');
    const local = [
      'bias',
      `p1:${lower.slice(0, 1)}`,
      `p2:${lower.slice(0, 2)}`,
      `s2:${lower.slice(-2)}`,
      `s3:${lower.slice(-3)}`,
      `pos:${Math.min(i, 4)}`,
      `rpos:${Math.min(n - 1 - i, 4)}`,
      `cb:${Math.min(commasBefore, 3)}`,
      `ca:${Math.min(commasTotal - commasBefore - (commaAt[i] ? 1 : 0), 3)}`,
      `len:${Math.min(c.length, 8)}`,
    ];
    if (c !== c.toLowerCase() && t === t.toUpperCase()) local.push('allcaps');
    if (/^[A-Z][a-z]/.test(t)) local.push('title');
    if (commaAt[i]) commasBefore++;
    out.push({ shared, local });
  }
  return out;
}

/** Features of the virtual tokens before the first and after the last (seen from neighbours). */
export const BEFORE_START = ['bos'];
export const AFTER_END = ['eos'];
