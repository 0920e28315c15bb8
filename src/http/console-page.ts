import type { JobsTable } from '../db/schema.ts';
import { CONSOLE_SCRIPT } from './console-script.ts';

export interface ConsoleData {
  inbox: { status: string; n: number }[];
  jobs: { target: string; status: string; n: number }[];
  late: JobsTable[];
  window_s: number;
  database: string;
}

const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The console's inline script and style, which the Content-Security-Policy allows by hash (http/security.ts). */
export const CONSOLE_INLINE = { script: (): string => CONSOLE_SCRIPT, style: (): string => STYLE };

const STYLE =
  'body{font:14px system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;margin-bottom:1.5rem}' +
  'td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}.s-dead{color:#b00;font-weight:bold}' +
  '.s-done{color:#070}.err{color:#b00}.ok{color:#070}form{margin:.5rem 0 1rem}';

/**
 * The console: queue depths and late write-backs, server-rendered (counts and ids only, no
 * personal data without a key). With an API key typed into the page, its script lists dead
 * letters with their errors and re-drives them, looks customers up by email (crosswalk, history,
 * household and points), works the identity review queue and shows the drift scorecard, all
 * through `/v1`.
 */
export function renderConsole(d: ConsoleData): string {
  const inboxRows =
    d.inbox.map((r) => `<tr><td>${esc(r.status)}</td><td>${r.n}</td></tr>`).join('') ||
    '<tr><td colspan="2">empty</td></tr>';
  const jobRows =
    d.jobs
      .map(
        (r) => `<tr><td>${esc(r.target)}</td><td class="s-${esc(r.status)}">${esc(r.status)}</td><td>${r.n}</td></tr>`,
      )
      .join('') || '<tr><td colspan="3">no jobs yet</td></tr>';
  const lateRows =
    d.late
      .map(
        (j) =>
          `<tr><td>${esc(j.id)}</td><td>${esc(j.customer_id)}</td><td>${esc(j.status)}</td>` +
          `<td>${new Date(j.origin_at).toISOString()}</td>` +
          `<td>${j.done_at ? ((j.done_at - j.origin_at) / 1000).toFixed(1) + ' s' : 'not yet'}</td></tr>`,
      )
      .join('') || '<tr><td colspan="5">none: every write-back within the window</td></tr>';
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Hearth console</title>
<style>${STYLE}</style>
</head><body><h1>Hearth</h1><p>Database: <code>${esc(d.database)}</code> · <a href="/">refresh</a> · ` +
    `<a href="/docs">API docs</a> · <a href="/metrics">metrics</a></p>
<h2>Inbox</h2><table><tr><th>status</th><th>events</th></tr>${inboxRows}</table>
<h2>Outbound jobs</h2><table><tr><th>target</th><th>status</th><th>jobs</th></tr>${jobRows}</table>
<h2>Write-backs past the ${d.window_s} s sync window</h2>` +
    '<table><tr><th>job</th><th>customer</th><th>status</th><th>corrected at</th><th>lag</th></tr>' +
    `${lateRows}</table>
<h2>Operator</h2>
<form id="key-form"><label>API key <input id="api-key" type="password" autocomplete="off" size="40"></label> ` +
    `<button>Use key</button></form>
<h3>Dead letters</h3><p id="dead-status">enter an API key to list dead letters</p>
<table><thead><tr><th>job</th><th>target</th><th>customer</th><th>attempts</th><th>kind</th>` +
    `<th>error</th><th></th></tr></thead><tbody id="dead-body"></tbody></table>
<h3>Customer lookup</h3>
<form id="customer-form"><label>Email <input id="customer-email" type="email" size="40"></label> ` +
    `<button>Find</button></form>
<p id="customer-status"></p><div id="customer"></div>
<h3>Review queue</h3><p id="review-status">enter an API key to list items waiting for a decision</p>
<table><thead><tr><th>item</th><th>kind</th><th>score</th><th>people</th><th>why</th><th></th></tr></thead>` +
    `<tbody id="review-body"></tbody></table>
<h3>Drift scorecard (latest reconciliation run)</h3><p id="drift-status"></p>
<table><thead><tr><th>system</th><th>field</th><th>compared</th><th>drifted</th><th>drift rate</th>` +
    `<th>format only</th></tr></thead><tbody id="drift-body"></tbody></table>
<script>${CONSOLE_SCRIPT}</script>
</body></html>`
  );
}
