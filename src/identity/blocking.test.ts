import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockPairs, decodePair, DEFAULT_BLOCKING_RULES, sampleTrainingPairs, type BlockingRule } from './blocking.ts';
import { mulberry32 } from './fellegi-sunter.ts';
import { hash52 } from './strings.ts';
import { createPreparer } from './prepare.ts';
import type { PreparedRecord } from './types.ts';

// 3,000 people over small value pools, so every rule has blocks of many sizes.
function people(count: number, seed: number): PreparedRecord[] {
  const rand = mulberry32(seed);
  const pick = (xs: string[]): string => xs[Math.floor(rand() * xs.length)]!;
  const prep = createPreparer({ defaultCountry: 'US' });
  return Array.from({ length: count }, () =>
    prep({
      given_name: pick(['ann', 'bob', 'cy', 'dee', 'eve', 'flo', '']),
      family_name: pick(['ash', 'birch', 'cedar', 'dogwood', 'elm']),
      date_of_birth: `19${50 + Math.floor(rand() * 3)}-0${1 + Math.floor(rand() * 2)}-1${Math.floor(rand() * 3)}`,
      postal_code: pick(['10001', '10002', '']),
      address_line1: `${1 + Math.floor(rand() * 5)} ${pick(['oak', 'pine'])} st`,
      phone: rand() < 0.5 ? `415555${1000 + Math.floor(rand() * 300)}` : '',
    }),
  );
}

// The textbook union: a Map of key -> members per rule, every pair of a block, sorted codes.
function naivePairs(records: PreparedRecord[], rules: readonly BlockingRule[]): number[] {
  const n = records.length;
  const codes = new Set<number>();
  for (const rule of rules) {
    const blocks = new Map<string, number[]>();
    records.forEach((r, i) => {
      const k = rule.key(r);
      if (k !== '') blocks.set(k, [...(blocks.get(k) ?? []), i]);
    });
    for (const b of blocks.values())
      for (let x = 0; x < b.length; x++) for (let y = x + 1; y < b.length; y++) codes.add(b[x]! * n + b[y]!);
  }
  return [...codes].sort((a, b) => a - b);
}

test("hashed blocking gives exactly the union of the rules' pairs, sorted and unique", () => {
  const records = people(3000, 1);
  const got = blockPairs(records, DEFAULT_BLOCKING_RULES, { maxBlockSize: 1e9, window: 20 });
  assert.deepEqual([...got.pairs], naivePairs(records, DEFAULT_BLOCKING_RULES));
  assert.ok(got.pairs.length > 10_000, `${got.pairs.length} pairs`);
  assert.equal(got.oversizeBlocks, 0);
});

test('an oversize block meets only its sorted-neighbourhood window, and is counted', () => {
  const records = people(3000, 2);
  const rule: BlockingRule = { name: 'family', key: (r) => r.family };
  const capped = blockPairs(records, [rule], { maxBlockSize: 100, window: 5 });
  assert.equal(capped.oversizeBlocks, 5);
  // Each record meets at most its next 5 neighbours: far fewer pairs than 5 full blocks.
  assert.ok(capped.pairs.length <= 3000 * 5, `${capped.pairs.length} pairs`);
  for (const code of capped.pairs) {
    const [i, j] = decodePair(code, records.length);
    assert.equal(records[i]!.family, records[j]!.family);
  }
});

test('training pairs: all of them under the budget, a hash sample over it, never a scored pair', () => {
  const records = people(3000, 3);
  const scoring = DEFAULT_BLOCKING_RULES.filter((r) => !r.trainingOnly);
  const training = DEFAULT_BLOCKING_RULES.filter((r) => r.trainingOnly);
  const opts = { maxBlockSize: 1e9, window: 20 };
  const scored = blockPairs(records, scoring, opts).pairs;
  const scoredSet = new Set(scored);
  const expected = naivePairs(records, training).filter((c) => !scoredSet.has(c));
  const all = sampleTrainingPairs(records, training, { ...opts, budget: 1e9 }, scored);
  assert.equal(all.rate, 1);
  assert.deepEqual([...all.pairs], expected);
  const sample = sampleTrainingPairs(records, training, { ...opts, budget: all.rawPairs / 10 }, scored);
  assert.ok(Math.abs(sample.rate - 0.1) < 1e-9);
  const share = sample.pairs.length / expected.length;
  assert.ok(share > 0.08 && share < 0.12, `sampled share ${share}`);
  const expectedSet = new Set(expected);
  for (const c of sample.pairs) assert.ok(expectedSet.has(c));
  // Reproducible: the same pairs on a second run.
  assert.deepEqual(
    sampleTrainingPairs(records, training, { ...opts, budget: all.rawPairs / 10 }, scored).pairs,
    sample.pairs,
  );
});

test('linkage: pairs within one source are never produced', () => {
  const records = people(600, 4);
  const sources = records.map((_, i) => String(i % 2));
  const got = blockPairs(records, DEFAULT_BLOCKING_RULES, { maxBlockSize: 1e9, window: 20, sources });
  assert.ok(got.pairs.length > 0);
  for (const code of got.pairs) {
    const [i, j] = decodePair(code, records.length);
    assert.notEqual(sources[i], sources[j]);
  }
});

test('address lines as typed block in either order, but not a unit line', () => {
  const rule = DEFAULT_BLOCKING_RULES.find((r) => r.name === 'lines_typed_unordered')!;
  const prep = createPreparer({ defaultCountry: 'US' });
  const key = (address_line1: string, address_line2: string): string =>
    rule.key(prep({ address_line1, address_line2 }));
  assert.notEqual(key('laseron place', 'barossa village'), '');
  assert.equal(key('laseron place', 'barossa village'), key('barossa village', 'laseron  place'));
  assert.equal(key('12 Main Street', 'Apt 4'), '');
  assert.equal(key('12 Main Street', 'Apartment 4-B'), '');
  assert.equal(key('12 Main Street', ''), '');
});

test('each default rule hashes its key without building it: hash52 of the key, -1 for none', () => {
  const records = people(3000, 3);
  // Swapped names and lines, prefixes that tie, a unit line 2: every branch of the key parts.
  const prep = createPreparer({ defaultCountry: 'US' });
  records.push(
    prep({
      given_name: 'smith',
      family_name: 'smit',
      address_line1: '4 oak st',
      address_line2: 'pine rd',
      national_id: 'x1',
      city: 'oakland',
      postal_code: '10001',
    }),
    prep({ email: 'A.b+c@gmail.com', region: 'ca', family_name: 'oakes', address_line1: 'oak street' }),
    prep({ given_name: 'sm', family_name: 's', address_line1: 'pine rd', address_line2: '4 oak st', city: 'x' }),
    prep({ given_name: 'a', family_name: 'a', street_number: '4', address_line1: 'oak', address_line2: 'apt 4' }),
    prep({}),
  );
  for (const rule of DEFAULT_BLOCKING_RULES) {
    let keyed = 0;
    for (const r of records) {
      const k = rule.key(r);
      assert.equal(rule.hash!(r), k === '' ? -1 : hash52(k), `${rule.name}: ${k}`);
      if (k !== '') keyed++;
    }
    assert.ok(keyed > 0, rule.name);
  }
});
