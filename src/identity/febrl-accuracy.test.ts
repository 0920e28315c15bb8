import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { resolveColumns } from './columns.ts';
import { DEFAULT_MATCH_CONFIG, matchRecords } from './engine.ts';
import { blockingRecall, pairwiseMetrics } from './metrics.ts';
import type { PersonRecord } from './types.ts';

const FEBRL = new URL('../../test-support/data/febrl/', import.meta.url);

// Measured as the product is used on retail data: the `soc_sec_id` column is removed from the
// file before matching (no national id), default settings, parameters estimated without labels.
// Floors sit just under what bench/identity.ts measures, so a regression in any comparator, a
// blocking rule or EM shows here.
const FLOORS: Record<string, { precision: number; recall: number; f1: number; blocking: number }> = {
  // Auto-link threshold 0.99 -> 0.95 (calibration, src/identity/bands.ts): recall up 0.6-1.7 points.
  // Blocking on family name + street as typed + region: FEBRL 2 recall 0.9845 -> 0.9876.
  // Address lines compared as typed (swapped or crossed), blocking on dob + postcode, dob + house
  // number, both lines as typed and postcode + street as typed (issue 11): FEBRL 1 recall stays
  // 0.992 (blocking 0.998 -> 1), FEBRL 2 0.988 -> 0.996, FEBRL 3 0.987 -> 0.9945 (blocking 0.986
  // -> 0.9956), FEBRL 4 0.983 -> 0.9926 (blocking 0.997 -> 0.9994), precision 1.000 on all four.
  // The retrained address tagger (five-shuffle mean, repairs) moved FEBRL 1's F1 0.9960 -> 0.9950:
  // floor 0.994 (FEBRL 1 is not one of issue 11's targets; FEBRL 3 and 4 keep 0.996 / 0.995).
  'dataset1.csv': { precision: 0.998, recall: 0.99, f1: 0.994, blocking: 0.995 },
  'dataset2.csv': { precision: 0.998, recall: 0.993, f1: 0.996, blocking: 0.993 },
  'dataset3.csv': { precision: 0.998, recall: 0.992, f1: 0.996, blocking: 0.995 },
  'dataset4a.csv+dataset4b.csv': { precision: 0.998, recall: 0.99, f1: 0.995, blocking: 0.998 },
};

for (const [name, floor] of Object.entries(FLOORS)) {
  test(`FEBRL ${name} without its national id column: accuracy floor`, () => {
    const m = febrlMetrics(name.split('+'));
    assert.ok(m.precision >= floor.precision, `precision ${m.precision}`);
    assert.ok(m.recall >= floor.recall, `recall ${m.recall}`);
    assert.ok(m.f1 >= floor.f1, `f1 ${m.f1}`);
    assert.ok(m.blocking >= floor.blocking, `blocking recall ${m.blocking}`);
  });
}

function febrlMetrics(files: string[]): ReturnType<typeof pairwiseMetrics> & { blocking: number } {
  const parts = files.map((f, k) => febrlRecords(f, files.length > 1 ? String(k) : undefined));
  const records = parts.flatMap((p) => p.records);
  const entity = parts.flatMap((p) => p.entity);
  const link = files.length > 1;
  const result = matchRecords(records, { ...DEFAULT_MATCH_CONFIG, linkAcrossSourcesOnly: link });
  const sources = link ? records.map((r) => r.source ?? '') : undefined;
  const blocking = blockingRecall(result.candidateCodes, entity, sources);
  return { ...pairwiseMetrics(result.clusterOf, entity, sources), blocking };
}

function febrlRecords(file: string, source: string | undefined): { records: PersonRecord[]; entity: string[] } {
  const raw: string[][] = parse(readFileSync(new URL(file, FEBRL)), { trim: true });
  const drop = raw[0]!.indexOf('soc_sec_id');
  assert.ok(drop > 0);
  const rows = raw.map((r) => r.filter((_, i) => i !== drop));
  const cols = resolveColumns(rows[0]!, new Map());
  assert.ok(typeof cols !== 'string');
  const body = rows.slice(1);
  return {
    records: body.map((r) => ({
      id: r[0]!,
      ...(source ? { source } : {}),
      fields: Object.fromEntries([...cols].map(([f, i]) => [f, r[i]])),
    })),
    entity: body.map((r) => r[0]!.split('-')[1]!),
  };
}
