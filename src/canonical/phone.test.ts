import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { fastPhone, toE164 } from './phone.ts';

test('the North American fast path agrees with libphonenumber', () => {
  const cases: [string, string][] = [
    ['(312) 555-1212', 'US'],
    ['+1 312 555 1212', 'GB'],
    ['1-416-555-0199', 'CA'],
    ['312.555.1212', 'CA'],
  ];
  for (const [raw, country] of cases) {
    const slow = parsePhoneNumberFromString(raw, country as CountryCode)?.number;
    assert.equal(fastPhone(raw.replace(/[^0-9+]/g, ''), country), slow, raw);
  }
  // Ten digits outside North America are not taken for a NANP number.
  assert.equal(fastPhone('3125551212', 'GB'), undefined);
});

test('E.164 by the record country; unparseable numbers compare by their digits', () => {
  assert.equal(toE164('020 7946 0018', 'GB'), '+442079460018');
  assert.equal(toE164('(217) 555-0142', 'US'), '+12175550142');
  assert.equal(toE164('ext. 12', 'US'), '12');
});
