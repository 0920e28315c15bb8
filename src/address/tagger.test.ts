import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { overlapKey } from './training-data.ts';
import { serialize, type ShippedModel, testAddresses, train, trainingDigest, trainingSet } from './train.ts';
import { compileModel, tagAddress } from './tagger.ts';

const shipped = JSON.parse(readFileSync(new URL('./model/tagger.json', import.meta.url), 'utf8')) as ShippedModel;

test('no test address appears in the training set, and the shipped model was trained on that set', () => {
  const set = trainingSet();
  const testKeys = new Set(testAddresses().map(overlapKey));
  const leaked = set.filter((a) => testKeys.has(overlapKey(a.text))).map((a) => a.text);
  assert.deepEqual(leaked, []);
  assert.ok(set.length > 1000, `training set of ${set.length}`);
  assert.deepEqual(shipped.training.addresses, set.length);
  assert.equal(shipped.training.digest, trainingDigest(set), 'model/tagger.json is stale: npm run train:address');
});

test('training is deterministic: the same data and seed give the same model file', () => {
  const subset = trainingSet().slice(0, 150);
  const a = serialize(train(subset, 2, 7));
  const b = serialize(train(subset, 2, 7));
  assert.equal(a, b);
  const tagged = tagAddress('123 Main St, Springfield, IL 62704', compileModel(JSON.parse(a) as ShippedModel));
  assert.equal(tagged.tags.length, tagged.tokens.length);
});

test('tags follow the usaddress tag set, one per token', () => {
  const { tokens, tags } = tagAddress('1600 Pennsylvania Ave NW, Washington, DC 20500');
  assert.deepEqual(tokens, ['1600', 'Pennsylvania', 'Ave', 'NW,', 'Washington,', 'DC', '20500']);
  assert.deepEqual(tags, [
    'AddressNumber',
    'StreetName',
    'StreetNamePostType',
    'StreetNamePostDirectional',
    'PlaceName',
    'StateName',
    'ZipCode',
  ]);
  assert.deepEqual(tagAddress('   ').tags, []);
});

test('the model is read on the first address, not when the module is imported', () => {
  const index = new URL('./index.ts', import.meta.url).href;
  const tagger = new URL('./tagger.ts', import.meta.url).href;
  const script = [
    `const t = await import(${JSON.stringify(tagger)});`,
    `const a = await import(${JSON.stringify(index)});`,
    'const before = t.isModelLoaded();',
    "a.normalizeAddress('1 Main St, Springfield, IL 62704');",
    'console.log(JSON.stringify([before, t.isModelLoaded()]));',
  ].join('\n');
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), [false, true]);
});

test('cached tag paths give the tags of a fresh model: equal token entries, equal paths', () => {
  // A fresh compiled model has empty caches; the shared one has seen the earlier addresses.
  const addresses = [
    '12 Oak Son Street Apt 4b',
    '4567 Oak Son Street Apt 4b',
    '4567 Oak Son Street, Springfield, IL 62704',
    '12 Oak Son Street',
    '1600 Pennsylvania Ave NW, Washington, DC 20500',
    '1600 Pennsylvania Ave NW Washington DC 20500',
  ];
  for (const raw of [...addresses, ...addresses]) {
    const fresh = tagAddress(raw, compileModel(shipped));
    assert.deepEqual(tagAddress(raw), fresh, raw);
  }
  // Callers may change the tags they get: the cached path must not change with them.
  tagAddress(addresses[0]!).tags.fill('X');
  assert.notEqual(tagAddress(addresses[0]!).tags[0], 'X');
});
