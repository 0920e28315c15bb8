import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ageHistogram, escapeHtml, renderHtmlReport, worstExamples } from './report-html.ts';
import {
  DRIFT_FIELDS,
  FINDING_KINDS,
  SYSTEM_FINDING_KINDS,
  type AuditReport,
  type Finding,
  type SystemFinding,
} from './types.ts';

function stale(email: string, differing: string[], months: number, address = '1 Main St'): Finding {
  return {
    kind: 'stale_address',
    email,
    crm_id: 'c',
    evidence: {
      field: 'address',
      crm_value: address,
      observed_value: '2 Oak Ave',
      order: { name: '#1', id: '1', created_at: '2025-01-01T00:00:00.000Z' },
      differing,
      format_only: [],
      months_since_order: months,
    },
  };
}

function report(findings: Finding[], file = 'crm.csv'): AuditReport {
  return {
    summary: {
      crm: { file, format: 'hubspot', rows_read: 1, contacts: 1, distinct_emails: 1, without_email: 0 },
      orders: {
        file: 'orders.csv',
        format: 'shopify',
        rows_read: 1,
        orders: 1,
        customers: 1,
        without_email: 0,
        bad_dates: 0,
      },
      rows_read: 2,
      joined_customers: 1,
      joined_by_crosswalk: 0,
      counts: Object.fromEntries(
        FINDING_KINDS.map((k) => [k, findings.filter((f) => f.kind === k).length]),
      ) as AuditReport['summary']['counts'],
      drift_rate: Object.fromEntries(
        DRIFT_FIELDS.map((f) => [f, { compared: 4, drifted: 1, rate: 0.25 }]),
      ) as AuditReport['summary']['drift_rate'],
      as_of: '2026-01-01T00:00:00.000Z',
      elapsed_ms: 1,
      rows_per_second: 2,
    },
    findings,
  };
}

test('every data string is escaped; nothing loads from outside the page', () => {
  const html = renderHtmlReport(
    report([stale('<script>alert(1)</script>@x.com', ['zip_code'], 3, `1 "Main" St & <b>co</b> O'Neil`)], 'a<b>.csv'),
  );
  assert.doesNotMatch(html, /<script|<b>|O'Neil|"Main"/);
  assert.match(html, /&#60;script&#62;alert\(1\)&#60;\/script&#62;@x\.com/);
  assert.match(html, /a&#60;b&#62;\.csv/);
  assert.doesNotMatch(html, /<link|src=|url\(/);
  assert.equal(escapeHtml(`&<>"'`), '&#38;&#60;&#62;&#34;&#39;');
});

test('drift chart has one bar per field; age histogram buckets months since the order', () => {
  const html = renderHtmlReport(
    report([stale('a@x', ['zip_code'], 0), stale('b@x', ['address_number'], 4), stale('c@x', ['address_number'], 30)]),
  );
  for (const f of DRIFT_FIELDS) assert.match(html, new RegExp(`>${f}</text><rect`));
  assert.match(html, /25\.0% \(1 \/ 4\)/);
  assert.deepEqual(
    ageHistogram([stale('a', [], 0), stale('b', [], 4), stale('c', [], 5), stale('d', [], 30)]).map((b) => b.count),
    [1, 0, 0, 2, 0, 0, 1],
  );
});

test('worst examples: a move to another ZIP outranks a unit change, older first among equals', () => {
  const worst = worstExamples(
    [
      stale('unit@x', ['occupancy_identifier'], 20),
      stale('zip-new@x', ['zip_code', 'state_name'], 1),
      stale('zip-old@x', ['zip_code', 'state_name'], 9),
    ],
    2,
  );
  assert.deepEqual(
    worst.map((f) => f.email),
    ['zip-old@x', 'zip-new@x'],
  );
  assert.match(renderHtmlReport(report([])), /No stale addresses\./);
});

test('a section per extra system: findings by kind as bars, differences escaped, none without systems', () => {
  const mismatch: SystemFinding = {
    system: 'zendesk',
    kind: 'address_mismatch',
    email: 'z@x',
    crm_id: '1',
    system_id: '<i>9</i>',
    hearth_id: null,
    evidence: {
      field: 'address',
      crm_value: '1 Main St',
      system_value: '2 Oak Ave',
      differing: ['street_name'],
      format_only: [],
    },
  };
  const counts = (n: number) =>
    Object.fromEntries(SYSTEM_FINDING_KINDS.map((k) => [k, k === 'address_mismatch' ? n : 0])) as Record<
      (typeof SYSTEM_FINDING_KINDS)[number],
      number
    >;
  const sys = (file: string, n: number) => ({
    file,
    format: 'x',
    rows_read: 3,
    records: 3,
    distinct_emails: 3,
    without_email: 0,
    joined: 2,
    joined_by_hearth_id: 1,
    counts: counts(n),
  });
  const r = report([]);
  r.summary.systems = { stripe: sys('stripe.csv', 0), zendesk: sys('users<1>.csv', 1) };
  r.system_findings = [mismatch];
  const html = renderHtmlReport(r);
  assert.match(html, /<h2>Stripe against the CRM<\/h2>[\s\S]*No differences in address, phone or name\./);
  assert.match(html, /<h2>Zendesk against the CRM<\/h2>/);
  for (const k of SYSTEM_FINDING_KINDS) assert.match(html, new RegExp(`>${k}</text><rect`));
  assert.match(html, /users&#60;1&#62;\.csv/);
  assert.match(html, /&#60;i&#62;9&#60;\/i&#62;/);
  assert.match(html, /1 of them by Hearth id/);
  assert.doesNotMatch(renderHtmlReport(report([])), /against the CRM/);
});
