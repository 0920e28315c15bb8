import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bandOf } from './bands.ts';
import { clusterPairs } from './cluster.ts';
import { FIELD_COMPARATORS } from './comparators.ts';
import { DEFAULT_MATCH_CONFIG, localityOrder, matchRecords, strongConflict } from './engine.ts';
import { mulberry32 } from './fellegi-sunter.ts';
import { buildNicknameIndex } from './nicknames.ts';
import { createPreparer } from './prepare.ts';
import type { PersonRecord } from './types.ts';

const GIVEN = [
  'anna',
  'bruno',
  'carla',
  'dmitri',
  'elena',
  'farid',
  'greta',
  'hugo',
  'ines',
  'jonas',
  'kira',
  'lars',
  'mona',
  'nils',
  'olga',
];
const FAMILY = [
  'alder',
  'brook',
  'crane',
  'dunmore',
  'ellery',
  'fairfax',
  'garrow',
  'hollis',
  'ingram',
  'jessop',
  'kirkby',
  'lowther',
];

// A small population: 300 people, a third with one slightly corrupted duplicate.
function population(): { records: PersonRecord[]; entity: string[] } {
  const rand = mulberry32(3);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const records: PersonRecord[] = [];
  const entity: string[] = [];
  for (let p = 0; p < 300; p++) {
    const fields = {
      given_name: pick(GIVEN),
      family_name: pick(FAMILY) + pick(['', 'son', 'ton', 'ley']),
      date_of_birth: `19${50 + Math.floor(rand() * 50)}-0${1 + Math.floor(rand() * 9)}-1${Math.floor(rand() * 9)}`,
      address_line1: `${1 + Math.floor(rand() * 200)} ${pick(['oak', 'elm', 'pine', 'birch'])} street`,
      postal_code: String(10000 + Math.floor(rand() * 50)),
      phone: `415555${String(1000 + p)}`,
    };
    records.push({ id: `p${p}`, fields });
    entity.push(String(p));
    if (p % 3 === 0) {
      records.push({ id: `p${p}b`, fields: { ...fields, given_name: `${fields.given_name}e`, phone: '' } });
      entity.push(String(p));
    }
  }
  return { records, entity };
}

test('EM without labels recovers sensible m and u', () => {
  const { records, entity } = population();
  const result = matchRecords(records);
  const dob = FIELD_COMPARATORS.findIndex((c) => c.name === 'date_of_birth');
  const m = result.model.m[dob]!;
  const u = result.model.u[dob]!;
  const exact = m.length - 1;
  assert.ok(m[exact]! > 0.8, `m(exact dob) = ${m[exact]}`);
  assert.ok(u[exact]! < 0.2, `u(exact dob) = ${u[exact]}`);
  assert.ok(m[exact]! / u[exact]! > 5);
  // And the clustering it drives finds the duplicates without false merges.
  const wrong = records.filter((_, i) => entity[result.clusterOf[i]!] !== entity[i]).length;
  assert.equal(wrong, 0);
  const found = records.filter((r, i) => r.id.endsWith('b') && result.clusterOf[i] !== i).length;
  assert.ok(found >= 90, `found ${found} of 100 duplicates`);
});

test('explain names each field with its level and weight', () => {
  const { records } = population();
  const result = matchRecords(records);
  const e = result.explain(0, 1);
  assert.equal(e.fields.find((f) => f.field === 'date_of_birth')?.level, 'exact');
  assert.equal(e.fields.find((f) => f.field === 'phone')?.level, 'missing');
  assert.ok(e.fields.find((f) => f.field === 'date_of_birth')!.weight > 0);
  assert.ok(e.match_probability > 0.99);
});

test('bands follow the configured thresholds', () => {
  const bands = { p_auto: 0.95, p_review: 0.6 };
  assert.equal(bandOf(0.97, bands), 'auto');
  assert.equal(bandOf(0.7, bands), 'review');
  assert.equal(bandOf(0.2, bands), 'reject');
});

test('the anti-chaining guard refuses a merge that joins conflicting records', () => {
  // 0~1 and 1~2 are strong links, but 0 and 2 conflict: 2 must stay out (pair sent to review).
  const conflicts = (a: number, b: number): boolean => (a === 0 && b === 2) || (a === 2 && b === 0);
  const pairs = [
    { a: 0, b: 1, probability: 0.999 },
    { a: 1, b: 2, probability: 0.995 },
  ];
  const { clusterOf, refused } = clusterPairs(3, pairs, { conflicts, maxClusterSize: 50 });
  assert.deepEqual([...clusterOf], [0, 0, 2]);
  assert.deepEqual(refused, [pairs[1]]);
});

test('relatives at one address conflict; a typo does not', () => {
  const prep = createPreparer({ defaultCountry: 'US' });
  const ctx = { nicknames: buildNicknameIndex() };
  const base = { family_name: 'garrow', address_line1: '12 oak st', phone: '4155550000' };
  const father = prep({ ...base, given_name: 'hugo', date_of_birth: '1960-02-03' });
  const son = prep({ ...base, given_name: 'jonas', date_of_birth: '1991-07-19' });
  const typo = prep({ ...base, given_name: 'hugh', date_of_birth: '1960-03-02' });
  assert.equal(strongConflict(father, son, ctx), true);
  assert.equal(strongConflict(father, typo, ctx), false);
});

test('a household chain is not merged into one person', () => {
  const shared = { family_name: 'hollis', address_line1: '7 elm street', postal_code: '10001', phone: '4155550101' };
  const records: PersonRecord[] = [
    { id: 'mum', fields: { ...shared, given_name: 'greta', date_of_birth: '1961-04-02' } },
    { id: 'mum2', fields: { ...shared, given_name: 'greta', date_of_birth: '1961-04-02', email: 'greta@example.com' } },
    { id: 'kid', fields: { ...shared, given_name: 'ines', date_of_birth: '1994-11-23' } },
    { id: 'kid2', fields: { ...shared, given_name: 'ines', date_of_birth: '1994-11-23' } },
  ];
  const { clusterOf } = matchRecords([...records, ...population().records], DEFAULT_MATCH_CONFIG);
  assert.equal(clusterOf[0], clusterOf[1]);
  assert.equal(clusterOf[2], clusterOf[3]);
  assert.notEqual(clusterOf[0], clusterOf[2]);
});

test('training-only rules: sampled to the budget, weighted up, the model and the clusters hold', () => {
  const { records, entity } = population();
  const full = matchRecords(records, { ...DEFAULT_MATCH_CONFIG, trainingPairBudget: 1e9 });
  const sampled = matchRecords(records, {
    ...DEFAULT_MATCH_CONFIG,
    trainingPairBudget: full.blocking.trainingRawPairs / 4,
  });
  assert.equal(full.blocking.trainingSampleRate, 1);
  assert.ok(full.blocking.trainingPairs > 100, `${full.blocking.trainingPairs} training pairs`);
  assert.ok(Math.abs(sampled.blocking.trainingSampleRate - 0.25) < 1e-9);
  assert.ok(sampled.blocking.trainingPairs < full.blocking.trainingPairs / 2);
  // The scored candidates do not depend on the training sample.
  assert.deepEqual(sampled.candidateCodes, full.candidateCodes);
  assert.ok(
    Math.abs(sampled.model.lambda - full.model.lambda) < 0.05,
    `lambda ${sampled.model.lambda} vs ${full.model.lambda}`,
  );
  const wrong = (r: typeof full): number => records.filter((_, i) => entity[r.clusterOf[i]!] !== entity[i]).length;
  assert.equal(wrong(full), 0);
  assert.equal(wrong(sampled), 0);
});

test('locality order: a permutation with equal postcode and family name side by side', () => {
  const { records } = population();
  const order = localityOrder(records);
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    records.map((_, i) => i),
  );
  const key = (i: number): string => `${records[i]!.fields.postal_code}|${records[i]!.fields.family_name}`;
  const seen = new Set<string>();
  for (let r = 0; r < order.length; r++) {
    const k = key(order[r]!);
    // A key reappears only right after itself: each key is one run.
    if (r > 0 && key(order[r - 1]!) !== k) assert.ok(!seen.has(k), `key ${k} split`);
    seen.add(k);
  }
});

test('results do not depend on the input order (work runs in locality order, results map back)', () => {
  const { records } = population();
  const config = { ...DEFAULT_MATCH_CONFIG, uSamples: 1e6 };
  const partition = (rs: PersonRecord[]): string[] => {
    const result = matchRecords(rs, config);
    const groups = new Map<number, number[]>();
    rs.forEach((_, i) => groups.set(result.clusterOf[i]!, [...(groups.get(result.clusterOf[i]!) ?? []), i]));
    for (const [root, members] of groups)
      assert.equal(root, Math.min(...members), 'the cluster id is its first record');
    return [...groups.values()]
      .map((members) =>
        members
          .map((i) => rs[i]!.id)
          .sort()
          .join(','),
      )
      .sort();
  };
  const forward = partition(records);
  assert.ok(forward.length < records.length, 'some duplicates are linked');
  assert.deepEqual(partition([...records].reverse()), forward);
  const result = matchRecords(records, config);
  for (const p of result.pairs) assert.ok(p.a < p.b);
  assert.ok(
    result.pairs.every(
      (p, k) =>
        k === 0 || result.pairs[k - 1]!.a < p.a || (result.pairs[k - 1]!.a === p.a && result.pairs[k - 1]!.b < p.b),
    ),
    'pairs in input order',
  );
  const e = result.explain(result.pairs[0]!.a, result.pairs[0]!.b);
  assert.ok(Math.abs(e.match_probability - result.pairs[0]!.probability) < 1e-6, 'explain reads the same records');
});
