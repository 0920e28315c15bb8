import {
  DRIFT_FIELDS,
  FINDING_KINDS,
  SYSTEM_FINDING_KINDS,
  type AuditReport,
  type Finding,
  type SystemFinding,
  type SystemSummary,
} from './types.ts';

/** `&<>"'` escaped: every text that reaches the page (file names, addresses, ids) goes through it. */
export function escapeHtml(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const AGE_BUCKETS: { label: string; max: number }[] = [
  { label: '<1', max: 0 },
  { label: '1', max: 1 },
  { label: '2', max: 2 },
  { label: '3–5', max: 5 },
  { label: '6–11', max: 11 },
  { label: '12–23', max: 23 },
  { label: '24+', max: Number.POSITIVE_INFINITY },
];

/** Stale addresses counted by whole months since the order that showed the new address. */
export function ageHistogram(findings: readonly Finding[]): { label: string; count: number }[] {
  const counts = AGE_BUCKETS.map((b) => ({ label: b.label, count: 0 }));
  for (const f of findings) {
    if (f.kind !== 'stale_address') continue;
    const months = f.evidence.months_since_order ?? 0;
    counts[AGE_BUCKETS.findIndex((b) => months <= b.max)]!.count++;
  }
  return counts;
}

const SEVERITY: Record<string, number> = {
  zip_code: 8,
  state_name: 8,
  place_name: 4,
  street_name: 4,
  address_number: 4,
  street_name_pre_directional: 2,
  street_name_post_type: 2,
  occupancy_identifier: 1,
  usps_box_id: 2,
};

/** Stale addresses ranked worst first: a move to another ZIP over a unit change, then the oldest. */
export function worstExamples(findings: readonly Finding[], limit: number): Finding[] {
  const score = (f: Finding): number => f.evidence.differing.reduce((s, d) => s + (SEVERITY[d] ?? 1), 0);
  return findings
    .filter((f) => f.kind === 'stale_address')
    .map((f) => ({ f, s: score(f), age: f.evidence.months_since_order ?? 0 }))
    .sort((a, b) => b.s - a.s || b.age - a.age || a.f.email.localeCompare(b.f.email))
    .slice(0, limit)
    .map((x) => x.f);
}

const STYLE =
  'body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}' +
  'td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}' +
  '.num{text-align:right}svg text{font:12px system-ui,sans-serif}';

/** A self-contained page: inline CSS and SVG, no scripts, no external assets. */
export function renderHtmlReport(report: AuditReport, worstLimit = 50): string {
  const s = report.summary;
  const drift = DRIFT_FIELDS.map((f) => ({
    label: f,
    value: s.drift_rate[f].rate,
    note: `${s.drift_rate[f].drifted} / ${s.drift_rate[f].compared}`,
  }));
  const ages = ageHistogram(report.findings);
  return (
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hearth drift audit</title>
<style>${STYLE}</style>
</head><body>
<h1>Cross-system drift audit</h1>
<p>CRM: ${escapeHtml(s.crm.file)} (${escapeHtml(s.crm.format)}, ${s.crm.contacts} contacts) · ` +
    `Orders: ${escapeHtml(s.orders.file)} (${s.orders.orders} orders, ${s.orders.rows_read} rows) · ` +
    `as of ${escapeHtml(s.as_of)} · ${s.elapsed_ms} ms</p>
<h2>Findings</h2>
<table><tr><th>kind</th><th class="num">count</th></tr>
${FINDING_KINDS.map((k) => `<tr><td>${escapeHtml(k)}</td><td class="num">${s.counts[k]}</td></tr>`).join('\n')}
</table>
<p>${s.joined_customers} customers are in both exports. ` +
    '<code>format_only</code> differences are the same delivery point or number spelled differently; ' +
    `they are counted, not drift.</p>
<h2>Drift by field</h2>
${horizontalBars(drift)}
<h2>Age of stale addresses (months since the order)</h2>
${columnChart(ages)}
<h2>Worst examples</h2>
${worstTable(worstExamples(report.findings, worstLimit))}
${Object.entries(s.systems ?? {})
  .map(([name, sys]) => systemSection(name, sys, report.system_findings ?? [], worstLimit))
  .join('\n')}
</body></html>
`
  );
}

const SYSTEM_TITLES: Record<string, string> = { stripe: 'Stripe', zendesk: 'Zendesk' };

/** One extra system (Stripe, Zendesk): findings by kind as bars, then the differences first found. */
export function systemSection(
  name: string,
  sys: SystemSummary,
  findings: readonly SystemFinding[],
  limit: number,
): string {
  const total = SYSTEM_FINDING_KINDS.reduce((n, k) => n + sys.counts[k], 0);
  const bars = SYSTEM_FINDING_KINDS.map((k) => ({
    label: k,
    value: total === 0 ? 0 : sys.counts[k] / total,
    note: '',
    text: String(sys.counts[k]),
  }));
  const title = SYSTEM_TITLES[name] ?? name;
  const joinedBy = sys.joined_by_hearth_id ? `, ${sys.joined_by_hearth_id} of them by Hearth id` : '';
  return `<h2>${escapeHtml(title)} against the CRM</h2>
<p>${escapeHtml(sys.file)} (${sys.records} records, ${sys.rows_read} rows) · ${sys.joined} CRM contacts have a record
here${joinedBy}.</p>
${horizontalBars(bars, `${name} findings by kind`)}
<h3>${escapeHtml(title)}: differences</h3>
${systemTable(
  findings.filter((f) => f.system === name && /_mismatch$|^missing_address$/.test(f.kind)).slice(0, limit),
)}`;
}

function systemTable(findings: readonly SystemFinding[]): string {
  if (findings.length === 0) return '<p>No differences in address, phone or name.</p>';
  const rows = findings.map(
    (f) =>
      `<tr><td>${escapeHtml(f.email)}</td><td>${escapeHtml(f.kind)}</td><td>${escapeHtml(f.crm_id)}</td>` +
      `<td>${escapeHtml(f.system_id)}</td><td>${escapeHtml(f.evidence.crm_value)}</td>` +
      `<td>${escapeHtml(f.evidence.system_value)}</td><td>${escapeHtml(f.evidence.differing.join(', '))}</td></tr>`,
  );
  return (
    '<table><tr><th>email</th><th>kind</th><th>CRM id</th><th>record id</th><th>CRM value</th>' +
    `<th>value here</th><th>differs in</th></tr>\n${rows.join('\n')}\n</table>`
  );
}

function horizontalBars(
  rows: { label: string; value: number; note: string; text?: string }[],
  aria = 'drift rate by field',
): string {
  const width = 640;
  const left = 170;
  const barMax = width - left - 150;
  const h = 22;
  const max = Math.max(...rows.map((r) => r.value)); // bars scale to the worst field; labels give the rate
  const bars = rows.map((r, i) => {
    const y = i * h + 4;
    const w = max === 0 ? 0 : Math.max(r.value > 0 ? 1 : 0, Math.round((r.value / max) * barMax));
    return (
      `<text x="${left - 6}" y="${y + 14}" text-anchor="end">${escapeHtml(r.label)}</text>` +
      `<rect x="${left}" y="${y + 2}" width="${w}" height="${h - 6}" fill="#c0392b"/>` +
      `<text x="${left + w + 6}" y="${y + 14}">` +
      `${escapeHtml(r.text ?? `${(r.value * 100).toFixed(1)}% (${r.note})`)}</text>`
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${rows.length * h + 8}" role="img" ` +
    `aria-label="${escapeHtml(aria)}">${bars.join('')}</svg>`
  );
}

function columnChart(rows: { label: string; count: number }[]): string {
  const width = 640;
  const height = 200;
  const bottom = height - 24;
  const max = Math.max(1, ...rows.map((r) => r.count));
  const colW = Math.floor((width - 20) / rows.length);
  const cols = rows.map((r, i) => {
    const x = 10 + i * colW;
    const hgt = Math.round((r.count / max) * (bottom - 20));
    return (
      `<rect x="${x + 4}" y="${bottom - hgt}" width="${colW - 8}" height="${hgt}" fill="#2c7fb8"/>` +
      `<text x="${x + colW / 2}" y="${bottom - hgt - 4}" text-anchor="middle">${r.count}</text>` +
      `<text x="${x + colW / 2}" y="${height - 8}" text-anchor="middle">${escapeHtml(r.label)}</text>`
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" ` +
    `aria-label="stale addresses by months since the order">${cols.join('')}</svg>`
  );
}

function worstTable(findings: readonly Finding[]): string {
  if (findings.length === 0) return '<p>No stale addresses.</p>';
  const rows = findings.map(
    (f) =>
      `<tr><td>${escapeHtml(f.email)}</td><td>${escapeHtml(f.crm_id)}</td>` +
      `<td>${escapeHtml(f.evidence.crm_value)}</td><td>${escapeHtml(f.evidence.observed_value)}</td>` +
      `<td>${escapeHtml(f.evidence.order?.name)} ${escapeHtml(f.evidence.order?.created_at.slice(0, 10))}</td>` +
      `<td>${escapeHtml(f.evidence.differing.join(', '))}</td>` +
      `<td class="num">${f.evidence.months_since_order ?? ''}</td></tr>`,
  );
  return (
    '<table><tr><th>email</th><th>CRM id</th><th>CRM address</th><th>latest order ships to</th><th>order</th>' +
    `<th>differs in</th><th class="num">months</th></tr>\n${rows.join('\n')}\n</table>`
  );
}
