import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareDob, compareEmail, compareFamily, compareGiven, comparePhone, compareStreetAddress, type ComparisonContext } from './comparators.ts';
import { buildNicknameIndex } from './nicknames.ts';
import { canonicalEmail, createPreparer } from './prepare.ts';
import { mulberry32 } from './fellegi-sunter.ts';
import { editDistance, jaroWinkler, soundex } from './strings.ts';
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
  assert.equal(compareDob(rec({ date_of_birth: '1980-03-04' }), rec({ date_of_birth: '19800304' })), 3);
  assert.equal(compareDob(rec({ date_of_birth: '1980-03-04' }), rec({ date_of_birth: '1980-04-03' })), 2);
  assert.equal(compareDob(rec({ date_of_birth: '1980-03-04' }), rec({ date_of_birth: '1980-03-05' })), 2);
  assert.equal(compareDob(rec({ date_of_birth: '1980-03-04' }), rec({ date_of_birth: '1989-03-04' })), 2);
  assert.equal(compareDob(rec({ date_of_birth: '03/04/1980' }), rec({ date_of_birth: '1980-03-04' })), 3);
  assert.equal(compareDob(rec({ date_of_birth: '1980-03-04' }), rec({ date_of_birth: '1955-11-21' })), 0);
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
});

test('the one-edit fast path agrees with the full edit distance', () => {
  const rand = mulberry32(11);
  const word = (): string => Array.from({ length: 1 + Math.floor(rand() * 6) }, () => 'abc'[Math.floor(rand() * 3)]).join('');
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
