import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { resolveColumns } from './columns.ts';
import { matchRecords } from './engine.ts';
import { pairwiseMetrics } from './metrics.ts';

const FILE = new URL('../../../shared/data/febrl/dataset1.csv', import.meta.url);

test('FEBRL1 accuracy floor (parameters estimated without labels)', () => {
  const rows: string[][] = parse(readFileSync(FILE), { trim: true });
  const cols = resolveColumns(rows[0]!, new Map());
  assert.ok(typeof cols !== 'string');
  const body = rows.slice(1);
  const records = body.map((r) => ({ id: r[0]!, fields: Object.fromEntries([...cols].map(([f, i]) => [f, r[i]])) }));
  const entity = body.map((r) => r[0]!.split('-')[1]!);
  const result = matchRecords(records);
  const m = pairwiseMetrics(result.clusterOf, entity);
  assert.ok(m.precision >= 0.995, `precision ${m.precision}`);
  assert.ok(m.recall >= 0.97, `recall ${m.recall}`);
  assert.ok(m.f1 >= 0.98, `f1 ${m.f1}`);
});
