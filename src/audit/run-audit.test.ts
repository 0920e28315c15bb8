import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { runAuditCommand } from '../cli/audit.ts';
import { runAudit } from './run-audit.ts';
import { writeSyntheticExports } from '../../test-support/audit-exports.ts';
import { CONNECTORS, contactsExport, ordersExport } from '../connectors/registry.ts';

const SHOPIFY = ordersExport(CONNECTORS, 'shopify');

const asOf = Date.parse('2026-01-01T00:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'hearth-audit-run-'));
const ex = writeSyntheticExports(dir, { contacts: 400, orderRows: 1500, asOf, duplicateEvery: 41, missing: 3 });

test('orders folded in a worker thread give the same report as reading both files in turn', async () => {
  const a = await runAudit({
    crmFile: ex.crmFile,
    crmFormat: contactsExport(CONNECTORS, 'hubspot'),
    ordersFile: ex.ordersFile,
    ordersFormat: SHOPIFY,
    asOf,
    parallel: true,
  });
  const b = await runAudit({
    crmFile: ex.crmFile,
    crmFormat: contactsExport(CONNECTORS, 'hubspot'),
    ordersFile: ex.ordersFile,
    ordersFormat: SHOPIFY,
    asOf,
    parallel: false,
  });
  assert.deepEqual(a.findings, b.findings);
  assert.deepEqual(
    { ...a.summary, elapsed_ms: 0, rows_per_second: 0 },
    { ...b.summary, elapsed_ms: 0, rows_per_second: 0 },
  );
  assert.ok(a.summary.counts.stale_address > 0);
});

test('on a terminal, progress goes to stderr and is cleared; stdout keeps the summary', async () => {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await runAuditCommand(
    ['--crm', ex.crmFile, '--crm-format', 'hubspot', '--orders', ex.ordersFile, '--orders-format', 'shopify'],
    { stdout, stderr, isTTY: true },
  );
  assert.equal(code, 0, err);
  assert.match(err, /\[#+ *\] 100% .*hubspot-contacts\.csv/);
  assert.match(err, /\r\x1b\[K$/);
  assert.match(out, /^read \d+ CRM rows and \d+ order rows/);
  assert.doesNotMatch(out, /\r/);
});

test('Salesforce and Zoho exports audit the same way as HubSpot', async () => {
  const orders = join(dir, 'few-orders.csv');
  writeFileSync(
    orders,
    [
      'Name,Email,Created at,Lineitem name,Shipping Address1,Shipping Address2,' +
        'Shipping City,Shipping Zip,Shipping Province,Shipping Country,Shipping Phone',
      '#2,ann@x.com,2025-11-01 09:00:00 -0500,Serum,123 Main St,Apartment 4-B,Springfield,62704-1234,IL,US,',
      '#2,,,Cream,,,,,,,',
      '#1,bo@x.com,2025-10-01 09:00:00 -0500,Serum,9 Elm Rd,,Austin,78701,TX,US,',
    ].join('\n'),
  );
  const sf = join(dir, 'sf.csv');
  writeFileSync(
    sf,
    [
      'Id,Email,MailingStreet,MailingCity,MailingState,MailingPostalCode,MailingCountry',
      '003A,ann@x.com,"123 Main Street\nApt 4B",Springfield,IL,62704,United States',
      '003B,bo@x.com,1 Oak Ave,Austin,TX,78701,United States',
      '',
    ].join('\n'),
  );
  const zoho = join(dir, 'zoho.csv');
  writeFileSync(
    zoho,
    [
      'Record Id,Email,Mailing Street,Mailing City,Mailing State,Mailing Zip,Mailing Country',
      'z1,ann@x.com,123 Main Street Apt 4B,Springfield,IL,62704,USA',
      'z2,bo@x.com,1 Oak Ave,Austin,TX,78701,USA',
      '',
    ].join('\n'),
  );
  for (const [crmFile, crmFormat, staleId] of [
    [sf, 'salesforce', '003B'],
    [zoho, 'zoho', 'z2'],
  ] as const) {
    const r = await runAudit({
      crmFile,
      crmFormat: contactsExport(CONNECTORS, crmFormat),
      ordersFile: orders,
      ordersFormat: SHOPIFY,
      asOf,
    });
    assert.deepEqual(
      r.findings.map((f) => [f.kind, f.crm_id]),
      [
        ['format_only', crmFormat === 'zoho' ? 'z1' : '003A'],
        ['stale_address', staleId],
      ],
      crmFormat,
    );
  }
});
