import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { resolveColumns } from './columns.ts';
import { matchRecords } from './engine.ts';
import { pairwiseMetrics } from './metrics.ts';

const FEBRL = new URL('../../test-support/data/febrl/', import.meta.url);

// Floors sit just under what the engine measures (bench/identity.ts) and at the aim
// (F1 >= 0.99, precision >= 0.995), so a regression in any comparator or in EM shows here.
for (const file of ['dataset1.csv', 'dataset2.csv', 'dataset3.csv']) {
  test(`FEBRL ${file} accuracy floor (parameters estimated without labels)`, () => {
    const m = febrlMetrics(file);
    assert.ok(m.precision >= 0.995, `precision ${m.precision}`);
    assert.ok(m.recall >= 0.98, `recall ${m.recall}`);
    assert.ok(m.f1 >= 0.99, `f1 ${m.f1}`);
  });
}

function febrlMetrics(file: string): ReturnType<typeof pairwiseMetrics> {
  const rows: string[][] = parse(readFileSync(new URL(file, FEBRL)), { trim: true });
  const cols = resolveColumns(rows[0]!, new Map());
  assert.ok(typeof cols !== 'string');
  const body = rows.slice(1);
  const records = body.map((r) => ({ id: r[0]!, fields: Object.fromEntries([...cols].map(([f, i]) => [f, r[i]])) }));
  const entity = body.map((r) => r[0]!.split('-')[1]!);
  return pairwiseMetrics(matchRecords(records).clusterOf, entity);
}
