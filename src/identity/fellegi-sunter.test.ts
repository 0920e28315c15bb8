import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FIELD_COMPARATORS } from './comparators.ts';
import { explainPair, levelWeights, modelWeights, type FsModel } from './fellegi-sunter.ts';
import { createPreparer } from './prepare.ts';

function model(mExact: number): FsModel {
  const rows = (top: number) =>
    FIELD_COMPARATORS.map((c) => c.levels.map((_, l) => (l === c.levels.length - 1 ? top : 0.05)));
  return { lambda: 0.1, m: rows(mExact), u: rows(0.01), iterations: 1, tf: FIELD_COMPARATORS.map(() => null) };
}

test('modelWeights: computed once per model object, equal to levelWeights', () => {
  const a = model(0.8);
  const first = modelWeights(a);
  assert.deepEqual(first, levelWeights(a));
  assert.equal(modelWeights(a), first);
});

test('modelWeights: a re-estimated model (new object or replaced m/u) gets new weights', () => {
  const a = model(0.8);
  const before = modelWeights(a);
  const b = model(0.4);
  assert.deepEqual(modelWeights(b), levelWeights(b));
  assert.notDeepEqual(modelWeights(b), before);
  // The same object with its parameters replaced (as a refit would give them).
  a.m = model(0.4).m;
  const after = modelWeights(a);
  assert.notEqual(after, before);
  assert.deepEqual(after, levelWeights(b));
});

test('explainPair follows the model it is given', () => {
  const prepare = createPreparer({ defaultCountry: 'US' });
  const r = prepare({ given_name: 'Ann', family_name: 'Lee' });
  const levels = FIELD_COMPARATORS.map((c) => c.levels.length - 1);
  const strong = explainPair(model(0.8), levels, r);
  const weak = explainPair(model(0.4), levels, r);
  assert.ok(strong.match_weight > weak.match_weight);
  assert.equal(strong.fields[0]!.weight, Math.round(Math.log2(0.8 / 0.01) * 1000) / 1000);
  assert.equal(weak.fields[0]!.weight, Math.round(Math.log2(0.4 / 0.01) * 1000) / 1000);
});
