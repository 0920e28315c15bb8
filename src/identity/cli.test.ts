import { captureIo } from '../../test-support/test-io.ts';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runMatchCommand } from './cli.ts';

const FEBRL = fileURLToPath(new URL('../../test-support/data/febrl/', import.meta.url));

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = captureIo();
  const code = await runMatchCommand(argv, c.io);
  return { code, stdout: c.out(), stderr: c.err() };
}

const PEOPLE = `id,first_name,last_name,email,phone,dob,person
1,Robert,Smith,bob.smith@gmail.com,(415) 555-1234,1980-03-04,a
2,Bob,Smith,bobsmith+shop@gmail.com,415.555.1234,1980-04-03,a
3,Alice,Jones,alice@example.com,212-555-0000,1975-01-01,b
`;

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'hearth-match-'));
}

test('happy path: one row per record, summary, pairs and truth metrics', async () => {
  const d = dir();
  writeFileSync(join(d, 'in.csv'), PEOPLE);
  const r = await run([
    join(d, 'in.csv'),
    '--out',
    join(d, 'out.csv'),
    '--pairs',
    join(d, 'pairs.csv'),
    '--truth-column',
    'person',
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const rows = readFileSync(join(d, 'out.csv'), 'utf8').trim().split('\n');
  assert.equal(rows[0], 'record_id,cluster_id,match_probability');
  assert.equal(rows.length, 4);
  assert.match(rows[1]!, /^1,1,0\.9/);
  assert.match(rows[2]!, /^2,1,0\.9/);
  assert.equal(rows[3], '3,3,');
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.records, 3);
  assert.equal(summary.clusters, 2);
  assert.equal(summary.metrics.f1, 1);
  assert.match(
    readFileSync(join(d, 'pairs.csv'), 'utf8'),
    /^record_a,record_b,match_probability,band,explain\n1,2,0\.9\d+,auto,given_name=close/,
  );
});

test('--help prints usage', async () => {
  const r = await run(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /hearth match INPUT\.csv --out CLUSTERS\.csv/);
});

test('FEBRL 4a/4b linkage with --link and aliases (surname, suburb...), scored by --truth-pattern', async () => {
  const d = dir();
  const truth = ['--truth-column', 'rec_id', '--truth-pattern', 'rec-(\\d+)'];
  const r = await run([
    join(FEBRL, 'dataset4a.csv'),
    '--link',
    join(FEBRL, 'dataset4b.csv'),
    '--out',
    join(d, 'out.csv'),
    ...truth,
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.records, 10000);
  assert.ok(summary.clusters < 5250 && summary.clusters >= 5000, String(summary.clusters));
  assert.equal(summary.metrics.true_pairs, 5000);
  // soc_sec_id is not read by its name: found columns only, national id only when mapped.
  assert.ok(!summary.columns[0].fields.some((c: string) => c.startsWith('national_id=')), r.stdout);
  assert.ok(summary.columns[0].fields.includes('family_name=surname'), r.stdout);
  assert.ok(summary.metrics.precision >= 0.995, `precision ${summary.metrics.precision}`);
  assert.ok(summary.metrics.f1 >= 0.98, `f1 ${summary.metrics.f1}`);
});

test('--map: only the mapped columns are read, and stderr names them', async () => {
  const d = dir();
  const r = await run([
    join(FEBRL, 'dataset1.csv'),
    '--out',
    join(d, 'out.csv'),
    '--map',
    'given_name=given_name',
    '--map',
    'family_name=surname',
    '--map',
    'date_of_birth=date_of_birth',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /columns .*dataset1\.csv: given_name=given_name family_name=surname date_of_birth=date_of_birth\n/,
  );
  const mapped = await run([
    join(FEBRL, 'dataset1.csv'),
    '--out',
    join(d, 'out2.csv'),
    '--map',
    'national_id=soc_sec_id',
    '--json',
  ]);
  assert.equal(mapped.code, 0, mapped.stderr);
  assert.deepEqual(JSON.parse(mapped.stdout).columns[0].fields, ['national_id=soc_sec_id']);
});

test('--truth-pattern: an invalid expression or one without --truth-column is bad input', async () => {
  const d = dir();
  writeFileSync(join(d, 'in.csv'), PEOPLE);
  const bad = await run([
    join(d, 'in.csv'),
    '--out',
    join(d, 'out.csv'),
    '--truth-column',
    'person',
    '--truth-pattern',
    '(',
  ]);
  assertBadInput(bad, /--truth-pattern \(: Invalid regular expression/, d);
  const alone = await run([join(d, 'in.csv'), '--out', join(d, 'out.csv'), '--truth-pattern', 'x']);
  assertBadInput(alone, /--truth-pattern needs --truth-column/, d);
});

function assertBadInput(r: { code: number; stderr: string }, pattern: RegExp, d: string): void {
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, pattern);
  assert.deepEqual(
    readdirSync(d).filter((f) => f.startsWith('out')),
    [],
  );
}

test('missing id column: one line naming file and line, exit 2, no output', async () => {
  const d = dir();
  writeFileSync(join(d, 'in.csv'), PEOPLE);
  const r = await run([join(d, 'in.csv'), '--out', join(d, 'out.csv'), '--id-column', 'customer_id']);
  assertBadInput(r, /in\.csv:1: no id column "customer_id"/, d);
});

test('unknown --map target', async () => {
  const d = dir();
  writeFileSync(join(d, 'in.csv'), PEOPLE);
  const r = await run([join(d, 'in.csv'), '--out', join(d, 'out.csv'), '--map', 'shoe_size=dob']);
  assertBadInput(r, /unknown canonical field "shoe_size"/, d);
  const r2 = await run([join(d, 'in.csv'), '--out', join(d, 'out.csv'), '--map', 'date_of_birth=birthday']);
  assertBadInput(r2, /in\.csv:1: --map date_of_birth=birthday: no column named "birthday"/, d);
});

test('malformed CSV row names the line', async () => {
  const d = dir();
  writeFileSync(join(d, 'in.csv'), `${PEOPLE}4,Eve,"unterminated,x,y,z,c\n`);
  const r = await run([join(d, 'in.csv'), '--out', join(d, 'out.csv')]);
  assertBadInput(r, /in\.csv:\d+: malformed CSV row/, d);
  writeFileSync(join(d, 'in2.csv'), `${PEOPLE}4,Eve,Adams\n`);
  const r2 = await run([join(d, 'in2.csv'), '--out', join(d, 'out.csv')]);
  assertBadInput(r2, /in2\.csv:5: malformed CSV row/, d);
});

test('unreadable file', async () => {
  const d = dir();
  const r = await run([join(d, 'nope.csv'), '--out', join(d, 'out.csv')]);
  assertBadInput(r, /nope\.csv: cannot read file \(no such file\)/, d);
  assert.equal(existsSync(join(d, 'out.csv')), false);
});
