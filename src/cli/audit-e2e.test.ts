import { captureIo } from '../../test-support/test-io.ts';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { main } from '../main.ts';
import { runAuditCommand } from './audit.ts';
import { writeSyntheticExports } from '../../test-support/audit-exports.ts';
import type { AuditReport, Finding } from '../audit/types.ts';

const AS_OF = '2026-01-01T00:00:00Z';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = captureIo();
  const code = await runAuditCommand(argv, c.io);
  return { code, stdout: c.out(), stderr: c.err() };
}

function emails(findings: Finding[], kind: Finding['kind']): Set<string> {
  return new Set(findings.filter((f) => f.kind === kind).map((f) => f.email));
}

const dir = mkdtempSync(join(tmpdir(), 'hearth-audit-e2e-'));
// Messy HubSpot export (BOM, shuffled + extra columns, quoted multi-line notes); orders written
// oldest first, so the most recent order must win by date, not by position in the file.
const ex = writeSyntheticExports(dir, {
  contacts: 3000,
  orderRows: 12_000,
  asOf: Date.parse(AS_OF),
  duplicateEvery: 101,
  missing: 9,
  messy: true,
  oldestFirst: true,
});

test(
  'generated exports that disagree in known ways: every ' + 'stale address found, no format-only difference flagged',
  async () => {
    const out = join(dir, 'report.json');
    const r = await run([
      '--crm',
      ex.crmFile,
      '--crm-format',
      'hubspot',
      '--orders',
      ex.ordersFile,
      '--orders-format',
      'shopify',
      '--out',
      out,
      '--as-of',
      AS_OF,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(out, 'utf8')) as AuditReport;
    assert.deepEqual(JSON.parse(r.stdout), report.summary);
    const t = ex.truth;
    assert.ok(
      t.stale.size > 100 && t.formatOnly.size > 100 && t.duplicates.size > 10,
      'the generator produced every scenario',
    );
    const stale = emails(report.findings, 'stale_address');
    assert.deepEqual(
      [...t.stale].filter((e) => !stale.has(e)),
      [],
      'every stale address is found',
    );
    assert.deepEqual(
      [...stale].filter((e) => !t.stale.has(e)),
      [],
      'nothing else is called stale',
    );
    const respelled = [...t.formatOnly];
    assert.deepEqual(
      respelled.filter((e) => stale.has(e)),
      [],
      'no format-only respelling is drift',
    );
    const formatOnly = emails(
      report.findings.filter((f) => f.evidence.field === 'address'),
      'format_only',
    );
    assert.deepEqual(
      respelled.filter((e) => !formatOnly.has(e)),
      [],
      'every respelling is counted as format_only',
    );
    assert.deepEqual(emails(report.findings, 'missing_in_crm'), t.missingInCrm);
    assert.deepEqual(emails(report.findings, 'duplicate_contact'), t.duplicates);
    assert.deepEqual(emails(report.findings, 'phone_mismatch'), t.phoneMismatch);
    const phoneFormat = emails(
      report.findings.filter((f) => f.evidence.field === 'phone'),
      'format_only',
    );
    assert.deepEqual(phoneFormat, t.phoneFormatOnly);
    assert.equal(report.summary.counts.stale_address, report.findings.filter((f) => f.kind === 'stale_address').length);
    assert.equal(report.summary.rows_read, ex.crmRows + ex.orderRows);
    assert.equal(report.summary.drift_rate.address.drifted, report.summary.counts.stale_address);
    const sample = report.findings.find((f) => f.kind === 'stale_address')!;
    assert.match(sample.evidence.order!.name, /^#\d+$/);
    assert.ok(sample.evidence.crm_value && sample.evidence.observed_value && sample.evidence.differing.length > 0);
  },
);

test('the HTML report is self-contained, escaped, and has the three charts/tables', async () => {
  const out = join(dir, 'report.html');
  const r = await run([
    '--crm',
    ex.crmFile,
    '--crm-format',
    'hubspot',
    '--orders',
    ex.ordersFile,
    '--orders-format',
    'shopify',
    '--out',
    out,
    '--as-of',
    AS_OF,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /stale_address \d+/);
  const html = readFileSync(out, 'utf8');
  assert.match(html, /<h2>Drift by field<\/h2>\s*<svg/);
  assert.match(html, /<h2>Age of stale addresses[^<]*<\/h2>\s*<svg/);
  assert.match(html, /<h2>Worst examples<\/h2>\s*<table>/);
  assert.doesNotMatch(
    html,
    /<script|<link|src=|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg)/,
    'no external assets or scripts',
  );
});

test('bad input: one line naming the file and column, exit 2, no report or temp file left', async () => {
  const bad = join(dir, 'bad');
  writeFileSync(join(dir, 'no-street.csv'), 'Record ID,Email,City,Postal Code\n1,a@x.com,Austin,78701\n');
  writeFileSync(
    join(dir, 'no-date.csv'),
    'Name,Email,Shipping Address1,Shipping City,Shipping Zip\n#1,a@x.com,1 Main St,Austin,78701\n',
  );
  const cases: [string[], RegExp][] = [
    [
      [
        '--crm',
        join(dir, 'no-street.csv'),
        '--crm-format',
        'hubspot',
        '--orders',
        ex.ordersFile,
        '--orders-format',
        'shopify',
      ],
      /no-street\.csv: missing required column "Street Address"/,
    ],
    [
      [
        '--crm',
        ex.crmFile,
        '--crm-format',
        'hubspot',
        '--orders',
        join(dir, 'no-date.csv'),
        '--orders-format',
        'shopify',
      ],
      /no-date\.csv: missing required column "Created at"/,
    ],
    [
      ['--crm', join(dir, 'nope.csv'), '--crm-format', 'hubspot', '--orders', ex.ordersFile],
      /nope\.csv: cannot read file \(no such file\)/,
    ],
    [
      ['--crm', ex.crmFile, '--crm-format', 'dynamics', '--orders', ex.ordersFile],
      /--crm-format must be one of hubspot, salesforce, zoho/,
    ],
    [
      ['--crm', ex.crmFile, '--crm-format', 'hubspot', '--orders', ex.ordersFile, '--orders-format', 'woo'],
      /--orders-format must be one of shopify/,
    ],
    [['--crm', ex.crmFile, '--crm-format', 'hubspot'], /--orders FILE is required/],
    [
      ['--crm', ex.crmFile, '--crm-format', 'hubspot', '--orders', ex.ordersFile, '--as-of', 'soon'],
      /--as-of soon: expected an ISO-8601 date/,
    ],
    [['--bogus'], /Unknown option '--bogus'/],
  ];
  const noDir = await run([
    '--crm',
    ex.crmFile,
    '--crm-format',
    'hubspot',
    '--orders',
    ex.ordersFile,
    '--out',
    join(dir, 'missing-dir', 'r.json'),
  ]);
  assert.equal(noDir.code, 2);
  assert.match(noDir.stderr, /^hearth audit: .*missing-dir\/r\.json: cannot write report \(no such directory\)\n$/);
  for (const [argv, message] of cases) {
    const outFile = `${bad}-${cases.findIndex((c) => c[0] === argv)}.json`;
    const r = await run([...argv, '--out', outFile]);
    assert.equal(r.code, 2, argv.join(' '));
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    assert.match(r.stderr, /^hearth audit: /);
    assert.match(r.stderr, message);
    assert.equal(existsSync(outFile), false);
  }
  mkdirSync(join(dir, 'taken.json'));
  const onDir = await run([
    '--crm',
    ex.crmFile,
    '--crm-format',
    'hubspot',
    '--orders',
    ex.ordersFile,
    '--out',
    join(dir, 'taken.json'),
  ]);
  assert.equal(onDir.code, 2);
  assert.match(onDir.stderr, /^hearth audit: .*taken\.json: cannot write report \(EISDIR\)\n$/);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes('.tmp')),
    [],
    'no temp file left behind',
  );
});

test('hearth audit is wired into the CLI with --help', async () => {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (c: Buffer) => (text += c.toString()));
  const io = { stdin: new PassThrough(), stdout, stderr: new PassThrough(), env: {}, isTTY: false };
  assert.equal(await main(['audit', '--help'], io), 0);
  assert.match(
    text,
    new RegExp(
      '^Usage: hearth audit --crm FILE --crm-format hubspot\\|salesforce\\|zoho\\|stripe\\|zendesk ' +
        '--orders FILE \\[--orders-format shopify\\]',
    ),
  );
  text = '';
  assert.equal(await main(['--help'], io), 0);
  assert.match(text, /audit +cross-system drift audit from CRM \+ orders exports/);
});
