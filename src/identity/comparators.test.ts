import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  compareDob,
  compareEmail,
  compareFamily,
  compareGiven,
  compareLine2,
  compareLocality,
  comparePhone,
  compareStreetAddress,
  isUnitLine,
  PairMemo,
  type ComparisonContext,
} from './comparators.ts';
import { buildNicknameIndex } from './nicknames.ts';
import { canonicalEmail, createPreparer } from './prepare.ts';
import { mulberry32 } from './fellegi-sunter.ts';
import { editDistance, jaroWinkler, jaroWinklerAbove, simplify, soundex } from './strings.ts';
import type { PersonInput } from './types.ts';

const prep = createPreparer({ defaultCountry: 'US' });
const ctx: ComparisonContext = { nicknames: buildNicknameIndex() };
const rec = (fields: PersonInput) => prep(fields);

test('jaro-winkler and soundex match textbook values', () => {
  assert.equal(Math.round(jaroWinkler('martha', 'marhta') * 1000) / 1000, 0.961);
  assert.equal(Math.round(jaroWinkler('dwayne', 'duane') * 1000) / 1000, 0.84);
  assert.equal(soundex('Robert'), 'R163');
  assert.equal(soundex('Rupert'), 'R163');
  assert.equal(soundex('Ashcraft'), 'A261');
  assert.equal(editDistance('abcd', 'abdc', 2), 1);
});

test('given names: nicknames, typos, initials and given/family swaps', () => {
  assert.equal(compareGiven(rec({ given_name: 'Robert' }), rec({ given_name: 'bob' }), ctx), 2);
  assert.equal(compareGiven(rec({ given_name: 'Margaret' }), rec({ given_name: 'Peggy' }), ctx), 2);
  assert.equal(compareGiven(rec({ given_name: 'Jonathon' }), rec({ given_name: 'Jonathan' }), ctx), 2);
  assert.equal(compareGiven(rec({ given_name: 'J' }), rec({ given_name: 'John' }), ctx), 1);
  assert.equal(compareGiven(rec({ given_name: 'Alice' }), rec({ given_name: 'Robert' }), ctx), 0);
  assert.equal(compareGiven(rec({ given_name: '' }), rec({ given_name: 'Robert' }), ctx), -1);
  const a = rec({ given_name: 'Smith', family_name: 'John' });
  const b = rec({ given_name: 'John', family_name: 'Smith' });
  assert.equal(compareGiven(a, b, ctx), 3);
  assert.equal(compareFamily(a, b), 3);
  assert.equal(compareFamily(rec({ family_name: "O'Neil" }), rec({ family_name: 'ONEIL' })), 3);
});

test('dates of birth: exact, transposed day/month, one-digit typo', () => {
  assert.equal(compareDob(rec({ date_of_birth: '1980-03-04' }), rec({ date_of_birth: '19800304' })), 4);
  assert.equal(compareDob(rec({ date_of_birth: '1980-03-04' }), rec({ date_of_birth: '1980-04-03' })), 3);
  assert.equal(compareDob(rec({ date_of_birth: '1980-03-04' }), rec({ date_of_birth: '1980-03-05' })), 3);
  assert.equal(compareDob(rec({ date_of_birth: '1980-03-04' }), rec({ date_of_birth: '1989-03-04' })), 3);
  assert.equal(compareDob(rec({ date_of_birth: '03/04/1980' }), rec({ date_of_birth: '1980-03-04' })), 4);
  assert.equal(compareDob(rec({ date_of_birth: '1980-03-04' }), rec({ date_of_birth: '1955-11-21' })), 0);
  // Partial dates: a year, or a year and month, agreeing as far as they go.
  assert.equal(compareDob(rec({ date_of_birth: '1980' }), rec({ date_of_birth: '1980-03-04' })), 1);
  assert.equal(compareDob(rec({ date_of_birth: '03/1980' }), rec({ date_of_birth: '1980-03-04' })), 1);
  assert.equal(compareDob(rec({ date_of_birth: '1980-03' }), rec({ date_of_birth: '1980-04-03' })), 0);
  assert.equal(compareDob(rec({ date_of_birth: '1981' }), rec({ date_of_birth: '1980-03-04' })), 0);
});

test('phones in many formats compare as E.164', () => {
  const formats = ['(415) 555-1234', '415.555.1234', '+1 415 555 1234', '4155551234', '1-415-555-1234'];
  for (const f of formats) assert.equal(rec({ phone: f }).phone, '+14155551234', f);
  assert.equal(rec({ phone: '+44 20 7946 0958' }).phone, '+442079460958');
  assert.equal(comparePhone(rec({ phone: '415-555-1234' }), rec({ phone: '(415) 555 1234' })), 2);
  assert.equal(comparePhone(rec({ phone: '415-555-1234' }), rec({ phone: '415-555-1243' })), 1);
  assert.equal(comparePhone(rec({ phone: '415-555-1234' }), rec({ phone: '212-555-0000' })), 0);
});

test('emails: Gmail dot/plus rules only for Gmail', () => {
  assert.equal(canonicalEmail('Bob.Smith+shop@GMAIL.com'), 'bobsmith@gmail.com');
  assert.equal(canonicalEmail('bob.smith@googlemail.com'), 'bobsmith@gmail.com');
  assert.equal(canonicalEmail('bob.smith+x@example.com'), 'bob.smith+x@example.com');
  assert.equal(compareEmail(rec({ email: 'b.smith@gmail.com' }), rec({ email: 'bsmith+news@gmail.com' })), 2);
  assert.equal(compareEmail(rec({ email: 'bsmith@yahoo.com' }), rec({ email: 'bsmith@aol.com' })), 1);
});

test('street addresses use the address normaliser (unit variants, street type)', () => {
  const a = rec({ address_line1: '12 Oak Street', address_line2: 'Apt 4B' });
  const b = rec({ address_line1: '12 oak st', address_line2: 'Apartment 4-B' });
  assert.equal(a.line2, b.line2);
  assert.equal(compareStreetAddress(a, b), 3);
  assert.equal(compareStreetAddress(a, rec({ address_line1: '14 Oak St' })), 2);
  assert.equal(compareStreetAddress(a, rec({ address_line1: '12 Elm St' })), 0);
  // A line the parser misreads (run together, a typo in the street type) still agrees as typed.
  const typed = (line: string) => rec({ street_number: '11', address_line1: line, postal_code: '4350' });
  assert.equal(compareStreetAddress(typed('coplanddrive'), typed('copland drive')), 3);
  assert.ok(compareStreetAddress(typed('davidson wtreet'), typed('davidson street')) >= 2);
  assert.equal(compareStreetAddress(typed('copland drive'), typed('mockridge crescent')), 0);
});

test('address lines swapped or crossed, with typos, as FEBRL duplicates have them', () => {
  const lines = (line1: string, line2: string, number = '10') =>
    rec({ street_number: number, address_line1: line1, address_line2: line2 });
  // Both lines swapped, each with a typo the parser reads differently.
  const a = lines('glengariffe', 'deamer cf escent');
  const b = lines('deamer crescent', 'glengairffe');
  assert.equal(compareStreetAddress(a, b), 2);
  assert.equal(compareLine2(a, b), 2);
  // One line crossed, the other replaced: the street agrees, line 2 is no evidence.
  const c = lines('dumas street', 'dromard');
  const d = lines('dromard', 'cussen street');
  assert.equal(compareStreetAddress(c, d), 2);
  assert.equal(compareLine2(c, d), -1);
  // Different lines stay different.
  assert.equal(compareStreetAddress(c, lines('mana place', 'tinaroo falls')), 0);
  assert.equal(compareLine2(c, lines('mana place', 'tinaroo falls')), 0);
});

test('a line without a house number still gives its street', () => {
  const a = rec({ address_line1: 'heagney crescent' });
  const b = rec({ street_number: '27', address_line1: 'heagney crescent' });
  assert.equal(a.street, b.street);
  assert.equal(compareStreetAddress(a, b), 2);
  // A run-together line the parser cannot read compares as typed.
  assert.equal(
    compareStreetAddress(rec({ address_line1: 'jervoisstreet' }), rec({ address_line1: 'jervois street' })),
    2,
  );
});

test('line 2 as typed when the parsed units differ; units keep their number', () => {
  const withLine1 = rec({ street_number: '7', address_line1: 'ina gregory circuit', address_line2: 'villa 5' });
  const alone = rec({ street_number: '7', address_line2: 'villa 5' });
  assert.equal(compareLine2(withLine1, alone), 3);
  const unt = (line2: string) => rec({ street_number: '7', address_line1: 'booth crescent', address_line2: line2 });
  assert.ok(compareLine2(unt('unt 5'), unt('unt 5l')) >= 2);
  assert.equal(compareLine2(unt('unt 5'), unt('unt 6')), 0);
  const apt = (line2: string) => rec({ address_line1: '12 Oak St', address_line2: line2 });
  assert.equal(compareLine2(apt('Apt 4'), apt('Apt 5')), 0);
  assert.ok(isUnitLine('apartmentb') && isUnitLine('apt') && !isUnitLine('villa'));
});

test('a postcode one typo apart in the same city is the same locality', () => {
  const place = (city: string, postal_code: string) => rec({ city, postal_code });
  assert.equal(compareLocality(place('bayview', '3802'), place('bayview', '3082')), 3);
  assert.equal(compareLocality(place('bayview', '3802'), place('bayview', '3999')), 2);
  assert.equal(compareLocality(place('bayview', '3802'), place('hughes', '3082')), 1);
});

test('the one-edit fast path agrees with the full edit distance', () => {
  const rand = mulberry32(11);
  const word = (): string =>
    Array.from({ length: 1 + Math.floor(rand() * 6) }, () => 'abc'[Math.floor(rand() * 3)]).join('');
  let near = 0;
  for (let k = 0; k < 20_000; k++) {
    const a = word();
    const b = rand() < 0.5 ? word() : mutate(a, rand);
    const full = Math.min(editDistance(a, b, 3), 2);
    assert.equal(editDistance(a, b, 1), full, `${a} ${b}`);
    if (full === 1) near++;
  }
  assert.ok(near > 1000, `only ${near} one-edit pairs exercised`);
});

function mutate(s: string, rand: () => number): string {
  const i = Math.floor(rand() * s.length);
  const r = rand();
  if (r < 0.25) return s.slice(0, i) + 'x' + s.slice(i + 1);
  if (r < 0.5) return s.slice(0, i) + s.slice(i + 1);
  if (r < 0.75) return s.slice(0, i) + 'y' + s.slice(i);
  return i + 1 < s.length ? s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2) : s;
}

test('jaro-winkler (bit flags up to 31 characters, arrays beyond) agrees with the textbook version', () => {
  const rand = mulberry32(12);
  const word = (max: number): string =>
    Array.from({ length: 1 + Math.floor(rand() * max) }, () => 'abcde'[Math.floor(rand() * 5)]).join('');
  for (let k = 0; k < 5_000; k++) {
    const a = word(k % 2 === 0 ? 12 : 40);
    const b = rand() < 0.5 ? word(k % 2 === 0 ? 12 : 40) : mutate(a, rand);
    assert.equal(jaroWinkler(a, b), referenceJaroWinkler(a, b), `${a} ${b}`);
  }
});

test('the jaro-winkler bound rejects only pairs below the floor; the edit-distance bound changes no distance', () => {
  const rand = mulberry32(13);
  const word = (): string =>
    Array.from({ length: 1 + Math.floor(rand() * 10) }, () => 'abcdefg'[Math.floor(rand() * 7)]).join('');
  let rejected = 0;
  let kept = 0;
  for (let k = 0; k < 20_000; k++) {
    const a = word();
    const b = rand() < 0.5 ? word() : mutate(mutate(a, rand), rand);
    const jw = jaroWinkler(a, b);
    for (const floor of [0.8, 0.9, 0.92]) {
      const above = jaroWinklerAbove(a, b, floor);
      if (above === jw) kept++;
      else {
        assert.equal(above, 0, `${a} ${b}`);
        assert.ok(jw < floor, `${a} ${b} ${jw} rejected below ${floor}`);
        rejected++;
      }
    }
    // The bound exits early for max >= 2; a plain DP with max = 9 is never cut short by it.
    assert.equal(editDistance(a, b, 2), Math.min(editDistance(a, b, 9), 3), `${a} ${b}`);
  }
  assert.ok(rejected > 1000 && kept > 1000, `rejected ${rejected}, kept ${kept}`);
});

test('simplify with its ASCII and already-simple fast paths agrees with the full normalisation', () => {
  const rand = mulberry32(14);
  const chars = ['a', 'z', 'Q', '0', '9', ' ', ' ', '-', "'", '.', 'é', 'Ñ', 'ß', 'ﬁ', '\t'];
  const full = (s: string): string =>
    s
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^a-z0-9]+/g, ' ')
      .trim();
  let unchanged = 0;
  for (let k = 0; k < 20_000; k++) {
    const pool = k % 3 === 0 ? chars : chars.slice(0, 6);
    const s = Array.from({ length: Math.floor(rand() * 9) }, () => pool[Math.floor(rand() * pool.length)]).join('');
    assert.equal(simplify(s), full(s), JSON.stringify(s));
    if (simplify(s) === s) unchanged++;
  }
  assert.ok(unchanged > 500, `${unchanged} strings already simple`);
});

// Textbook Jaro-Winkler with arrays, as the reference for the bit-flag version.
function referenceJaroWinkler(a: string, b: string): number {
  if (a === b) return a.length === 0 ? 0 : 1;
  const range = Math.max(0, Math.floor(Math.max(a.length, b.length) / 2) - 1);
  const aFlags = new Array<boolean>(a.length).fill(false);
  const bFlags = new Array<boolean>(b.length).fill(false);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = Math.max(0, i - range); j < Math.min(i + range + 1, b.length); j++) {
      if (!bFlags[j] && a[i] === b[j]) {
        aFlags[i] = bFlags[j] = true;
        m++;
        break;
      }
    }
  }
  if (m === 0) return 0;
  const bMatched = [...b].filter((_, j) => bFlags[j]);
  const t = [...a].filter((_, i) => aFlags[i]).filter((c, x) => c !== bMatched[x]).length;
  const jaro = (m / a.length + m / b.length + (m - t / 2) / m) / 3;
  let prefix = 0;
  while (prefix < Math.min(4, a.length, b.length) && a[prefix] === b[prefix]) prefix++;
  return jaro + prefix * 0.1 * (1 - jaro);
}

test('given names compare the same with the per-run memo as without it, also once it is full', () => {
  const rand = mulberry32(13);
  const names = [
    'robert',
    'bob',
    'rob',
    'roberta',
    'margaret',
    'peggy',
    'jon',
    'john',
    'jonathan',
    'j',
    'smith',
    'ann',
    'anne',
  ];
  const memo = new PairMemo(20);
  const memoCtx: ComparisonContext = { ...ctx, givenLevels: memo };
  for (let k = 0; k < 2_000; k++) {
    const a = rec({ given_name: names[Math.floor(rand() * names.length)]!, family_name: 'smith' });
    const b = rec({ given_name: names[Math.floor(rand() * names.length)]!, family_name: 'john' });
    assert.equal(compareGiven(a, b, memoCtx), compareGiven(a, b, ctx));
  }
  const remembered = names.flatMap((x) => names.filter((y) => memo.get(x, y) !== undefined)).length;
  assert.equal(remembered, 20, 'the memo fills up to its limit and no further');
});

// The textbook string-building Soundex, as reference for the interned one in strings.ts.
function soundexReference(s: string): string {
  let out = '';
  let last = '';
  for (let i = 0; i < s.length && out.length < 4; i++) {
    const c = s.charCodeAt(i) | 0x20;
    if (c < 97 || c > 122) continue;
    const code = '01230120022455012623010202'[c - 97]!;
    if (out.length === 0) {
      out = String.fromCharCode(c - 32);
      last = code;
      continue;
    }
    if (c === 104 || c === 119) continue;
    if (code !== '0' && code !== last) out += code;
    last = code;
  }
  return out.length === 0 ? '' : out.padEnd(4, '0');
}

test('soundex equals the textbook algorithm on random text, one string per code', () => {
  let seed = 5;
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const alphabet = 'abcdefghijklmnopqrstuvwxyzHW -1é';
  for (let k = 0; k < 20_000; k++) {
    let s = '';
    for (let n = Math.floor(next() * 12); n > 0; n--) s += alphabet[Math.floor(next() * alphabet.length)];
    assert.equal(soundex(s), soundexReference(s), s);
  }
  assert.equal(soundex(''), '');
  assert.equal(soundex('Lee'), 'L000');
});
