import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CountryCode } from 'libphonenumber-js';
import { mulberry32 } from './fellegi-sunter.ts';
import { fastPhone } from '../canonical/phone.ts';
import { createPreparer, normalizePhone } from './prepare.ts';

test('the North American phone fast path agrees with libphonenumber', () => {
  const rand = mulberry32(5);
  const digits = (n: number): string => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('');
  let fast = 0;
  for (let k = 0; k < 40_000; k++) {
    const ten = digits(10);
    const raw = [ten, `1${ten}`, `+1${ten}`, `+${digits(11)}`, digits(7), `+${ten}`][k % 6]!;
    for (const country of ['US', 'CA', 'GB'] as CountryCode[]) {
      const quick = fastPhone(raw, country);
      if (quick === undefined) continue;
      fast++;
      assert.equal(quick, normalizePhone(raw, country), `${raw} in ${country}`);
    }
  }
  assert.ok(fast > 30_000, `fast path taken ${fast} times`);
  assert.equal(fastPhone('2125551234', 'GB'), undefined);
  assert.equal(fastPhone('+442071234567', 'US'), undefined);
});

test('a preparer gives the same record for the same input, cached or not', () => {
  const prep = createPreparer({ defaultCountry: 'US' });
  const input = {
    given_name: 'Zoë',
    family_name: "O'Neil",
    phone: '(415) 555-1234',
    date_of_birth: '3/4/1980',
    address_line1: '12 Oak Street',
    address_line2: 'Apt 4B',
    city: 'Springfield',
  };
  const first = prep(input);
  assert.deepEqual(prep({ ...input }), first);
  assert.deepEqual(createPreparer({ defaultCountry: 'US' })(input), first);
  assert.equal(first.given, 'zoe');
  assert.equal(first.family, 'oneil');
  assert.equal(first.phone, '+14155551234');
  assert.equal(first.dob, '19800304');
  assert.equal(first.line2, '4b');
  assert.equal(first.street, 'oakst');
  assert.equal(createPreparer({ defaultCountry: 'GB' })(input).phone, normalizePhone('4155551234', 'GB'));
});
