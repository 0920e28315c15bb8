import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { captureIo } from '../../test-support/test-io.ts';
import { writeSyntheticExports, writeSystemExports } from '../../test-support/audit-exports.ts';
import type { AuditReport } from '../audit/types.ts';
import { runAuditCommand } from './audit.ts';

const AS_OF = '2026-01-01T00:00:00Z';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = captureIo();
  const code = await runAuditCommand(argv, c.io);
  return { code, stdout: c.out(), stderr: c.err() };
}

const dir = mkdtempSync(join(tmpdir(), 'hearth-audit-systems-'));
const ex = writeSyntheticExports(dir, {
  contacts: 1000,
  orderRows: 3000,
  asOf: Date.parse(AS_OF),
  duplicateEvery: 0,
  missing: 3,
});
const sys = writeSystemExports(dir, 1000, 7);
const base = ['--crm', ex.crmFile, '--crm-format', 'hubspot', '--orders', ex.ordersFile, '--as-of', AS_OF];

test('Stripe and Zendesk exports beside the CRM: every planted difference found, nothing else', async () => {
  const out = join(dir, 'report.json');
  const r = await run([...base, '--stripe', sys.stripeFile, '--zendesk', sys.zendeskFile, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(out, 'utf8')) as AuditReport;
  assert.deepEqual(JSON.parse(r.stdout), report.summary);
  for (const system of ['stripe', 'zendesk'] as const) {
    const summary = report.summary.systems?.[system];
    assert.ok(summary, `${system} summary`);
    for (const [kind, expected] of Object.entries(sys.truth[system])) {
      const found = new Set(
        (report.system_findings ?? []).filter((f) => f.system === system && f.kind === kind).map((f) => f.email),
      );
      assert.deepEqual(
        [...expected].filter((e) => !found.has(e)),
        [],
        `${system} ${kind}: every planted one found`,
      );
      assert.deepEqual(
        [...found].filter((e) => !expected.has(e)),
        [],
        `${system} ${kind}: nothing else`,
      );
    }
    assert.equal(summary.counts.missing_address, 0);
  }
  assert.equal(report.summary.systems!.stripe!.counts.missing_in_crm, 7);
  assert.equal(report.summary.systems!.stripe!.joined, 900);
  assert.equal(report.summary.systems!.zendesk!.joined, 900);
  // The orders part of the report is the one a CRM + orders audit gives.
  const plain = await run([...base, '--json']);
  const alone = JSON.parse(plain.stdout) as AuditReport;
  assert.deepEqual(report.summary.counts, alone.summary.counts);
  assert.equal(alone.summary.systems, undefined);
  assert.equal(alone.system_findings, undefined);
});

test('the HTML report gains a section per extra system and the summary a line per system', async () => {
  const out = join(dir, 'report.html');
  const r = await run([...base, '--stripe', sys.stripeFile, '--zendesk', sys.zendeskFile, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^stripe: read 907 rows, 900 CRM contacts joined; address_mismatch 100, /m);
  assert.match(r.stdout, /^zendesk: read 900 rows, 900 CRM contacts joined; address_mismatch 100, /m);
  const html = readFileSync(out, 'utf8');
  assert.match(html, /<h2>Stripe against the CRM<\/h2>/);
  assert.match(html, /<h2>Zendesk against the CRM<\/h2>/);
  assert.match(html, /aria-label="stripe findings by kind"/);
  assert.doesNotMatch(html, /<script/);
});

test('a bad Stripe or Zendesk export: one line naming file and column, exit 2, no report', async () => {
  const noEmail = join(dir, 'stripe-no-email.csv');
  writeFileSync(noEmail, 'id,Name,Phone\ncus_1,Ana Smith,+12175550100\n');
  const noZendeskEmail = join(dir, 'zendesk-no-email.csv');
  writeFileSync(noZendeskEmail, 'id,name,phone\n1,Ana Smith,+12175550100\n');
  const cases: [string[], RegExp][] = [
    [['--stripe', noEmail], /stripe-no-email\.csv: missing required column "Email" \(stripe export\)/],
    [['--zendesk', noZendeskEmail], /zendesk-no-email\.csv: missing required column "email" \(zendesk export\)/],
    [['--zendesk', join(dir, 'nope.csv')], /nope\.csv: cannot read file \(no such file\)/],
  ];
  for (const [extra, message] of cases) {
    const out = join(dir, `bad-${extra[0]!.slice(2)}-${cases.findIndex((c) => c[0] === extra)}.json`);
    const r = await run([...base, ...extra, '--out', out]);
    assert.equal(r.code, 2, extra.join(' '));
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    assert.equal(existsSync(out), false, 'no report');
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.tmp')).length, 0, 'no temporary file left');
  }
});
