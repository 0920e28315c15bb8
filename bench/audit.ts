import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { streamCsv } from '../src/audit/csv-stream.ts';
import { runAudit } from '../src/audit/run-audit.ts';
import { writeSyntheticExports } from '../src/audit/synthetic.ts';
import { round } from './db-fixtures.ts';

const CONTACTS = 500_000;
const ORDER_ROWS = 1_000_000;
const AIM_SECONDS = 20;

/**
 * `hearth audit` on generated exports: 500k HubSpot contacts against 1M Shopify order rows.
 * Baseline, measured in the same run: the raw csv-parse rate over the same two files (same
 * parser settings, rows only counted). The audit figure is the whole audit (both reads, join,
 * classification) without writing a report.
 */
export async function runAuditBench(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-audit-bench-'));
  try {
    const asOf = Date.parse('2026-01-01T00:00:00Z');
    const genStart = performance.now();
    const ex = writeSyntheticExports(dir, { contacts: CONTACTS, orderRows: ORDER_ROWS, asOf, duplicateEvery: 1000 });
    const generateMs = performance.now() - genStart;
    const rows = ex.crmRows + ex.orderRows;
    const parseStart = performance.now();
    const parsed = (await countRows(ex.crmFile)) + (await countRows(ex.ordersFile));
    const parseMs = performance.now() - parseStart;
    const auditStart = performance.now();
    const report = await runAudit({ crmFile: ex.crmFile, crmFormat: 'hubspot', ordersFile: ex.ordersFile, asOf });
    const auditMs = performance.now() - auditStart;
    const stale = new Set(report.findings.filter((f) => f.kind === 'stale_address').map((f) => f.email));
    return {
      contacts_rows: ex.crmRows,
      order_rows: ex.orderRows,
      bytes: statSync(ex.crmFile).size + statSync(ex.ordersFile).size,
      generate_s: round(generateMs / 1000, 2),
      baseline_csv_parse: { rows: parsed, seconds: round(parseMs / 1000, 2), rows_per_s: Math.round(parsed / (parseMs / 1000)) },
      audit: { rows, seconds: round(auditMs / 1000, 2), rows_per_s: Math.round(rows / (auditMs / 1000)), vs_raw_parse: round(parseMs / auditMs, 2) },
      aim_seconds: AIM_SECONDS,
      within_aim: auditMs / 1000 < AIM_SECONDS,
      counts: report.summary.counts,
      stale_found_of_generated: `${[...ex.truth.stale].filter((e) => stale.has(e)).length}/${ex.truth.stale.size}`,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function countRows(file: string): Promise<number> {
  let rows = 0;
  await streamCsv(file, () => {}, () => {
    rows++;
  });
  return rows;
}
