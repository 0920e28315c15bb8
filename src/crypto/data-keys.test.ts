import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createDataCipher, isEncrypted, securitySchema } from './data-keys.ts';

const key = () => randomBytes(32).toString('base64');

describe('data keys', () => {
  it('encrypts with the current key and decrypts after a rotation', () => {
    const k1 = key();
    const a = createDataCipher(securitySchema.parse({ data_keys: { k1 }, current_key: 'k1', lookup_key: key() }))!;
    const sealed = a.encrypt('ada@example.com');
    assert.ok(isEncrypted(sealed));
    assert.ok(!sealed.includes('ada'));
    assert.notEqual(a.encrypt('ada@example.com'), sealed, 'a fresh IV per value');
    const b = createDataCipher(
      securitySchema.parse({ data_keys: { k1, k2: key() }, current_key: 'k2', lookup_key: key() }),
    )!;
    assert.equal(b.decrypt(sealed), 'ada@example.com');
    assert.equal(b.keyIdOf(b.encrypt('x')), 'k2');
    assert.equal(b.decrypt('clear value'), 'clear value');
  });

  it('refuses a wrong key under the same id instead of returning garbage', () => {
    const sealed = createDataCipher(
      securitySchema.parse({ data_keys: { k1: key() }, current_key: 'k1', lookup_key: key() }),
    )!.encrypt('secret');
    const wrong = createDataCipher(
      securitySchema.parse({ data_keys: { k1: key() }, current_key: 'k1', lookup_key: key() }),
    )!;
    assert.throws(() => wrong.decrypt(sealed), /does not decrypt/);
  });

  it('keyed hashes are stable per lookup key and separate kinds', () => {
    const lk = key();
    const c = createDataCipher(securitySchema.parse({ data_keys: { k1: key() }, current_key: 'k1', lookup_key: lk }))!;
    assert.equal(c.lookupHash('email', 'a@b.c'), c.lookupHash('email', 'a@b.c'));
    assert.notEqual(c.lookupHash('email', 'a@b.c'), c.lookupHash('phone', 'a@b.c'));
  });

  it('rejects a config whose current key is missing or whose key is not 32 bytes', () => {
    assert.equal(securitySchema.safeParse({ data_keys: {}, current_key: 'k1', lookup_key: key() }).success, false);
    assert.throws(
      () =>
        createDataCipher(securitySchema.parse({ data_keys: { k1: 'c2hvcnQ=' }, current_key: 'k1', lookup_key: key() })),
      /32 bytes/,
    );
    assert.equal(createDataCipher(securitySchema.parse({})), null);
  });
  it('never repeats an IV across refills of the IV pool', () => {
    const c = createDataCipher(
      securitySchema.parse({ data_keys: { k1: key() }, current_key: 'k1', lookup_key: key() }),
    )!;
    const sealed = Array.from({ length: 600 }, (_, i) => c.encrypt(`v${i}`));
    assert.equal(new Set(sealed.map((v) => v.split(':')[2])).size, 600);
    assert.deepEqual(
      sealed.map((v) => c.decrypt(v)),
      sealed.map((_, i) => `v${i}`),
    );
  });
});
