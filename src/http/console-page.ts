import type { JobsTable } from '../db/schema.ts';
import { CONSOLE_SCRIPT } from './console-script.ts';

export interface ConsoleData {
  inbox: { status: string; n: number }[];
  jobs: { target: string; status: string; n: number }[];
  late: JobsTable[];
  window_s: number;
}

const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The console's inline script and style, which the Content-Security-Policy allows by hash (http/security.ts). */
export const CONSOLE_INLINE = { script: (): string => CONSOLE_SCRIPT, style: (): string => STYLE };

const STYLE =
  'body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;padding:1rem;max-width:72rem;color:#1d1d1f}' +
  '.scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse;margin-bottom:1.5rem}' +
  'button.link{background:none;border:0;padding:0;color:#0645ad;text-decoration:underline;' +
  'cursor:pointer;font:inherit}' +
  'input{max-width:100%}p,h3{overflow-wrap:anywhere}.err{color:#a00000}.ok{color:#05600a}' +
  'td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}.s-dead{color:#b00;font-weight:bold}' +
  '.s-done{color:#05600a}form{margin:.5rem 0 1rem}';
const FAVICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E" +
  "%3Cpath d='M8 1 1 7h2v8h4v-5h2v5h4V7h2z' fill='%23b5471b'/%3E%3C/svg%3E";

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
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="${FAVICON}">
<style>${STYLE}</style>
</head><body><main><h1>Hearth</h1><p><a href="/">refresh</a> · ` +
    `<a href="/docs">API docs</a> · <a href="/metrics">metrics</a></p>
<h2>Inbox</h2><div class="scroll"><table><tr><th>status</th><th>events</th></tr>${inboxRows}</table></div>
<h2>Outbound jobs</h2><div class="scroll"><table><tr><th>target</th><th>status</th><th>jobs</th></tr>` +
    `${jobRows}</table></div>
<h2>Write-backs past the ${d.window_s} s sync window</h2>` +
    '<div class="scroll"><table><tr><th>job</th><th>customer</th><th>status</th><th>corrected at</th>' +
    '<th>lag</th></tr>' +
    `${lateRows}</table></div>
<h2>Operator</h2>
<form id="key-form"><label>API key <input id="api-key" type="password" autocomplete="off" size="40"></label> ` +
    `<button>Use key</button></form>
<h3>Dead letters</h3><p id="dead-status">enter an API key to list dead letters</p>
<div class="scroll"><table><thead><tr><th>job</th><th>target</th><th>customer</th><th>attempts</th><th>kind</th>` +
    `<th>error</th><th></th></tr></thead><tbody id="dead-body"></tbody></table></div>
<h3>Customers</h3>
<form id="customer-form" role="search"><label>Name, e-mail, phone or postcode ` +
    `<input id="customer-q" type="search" size="40"></label> <button>Search</button></form>
<p id="customer-status" aria-live="polite"></p><div class="scroll"><table><tbody id="customer-results">` +
    `</tbody></table></div><button id="customer-more" type="button" hidden>More</button><div id="customer"></div>
<h3>Review queue</h3><p id="review-status">enter an API key to list items waiting for a decision</p>
<div class="scroll"><table><thead><tr><th>item</th><th>kind</th><th>score</th><th>people</th><th>why</th>` +
    `<th></th></tr></thead>` +
    `<tbody id="review-body"></tbody></table></div>
<h3>Drift scorecard (latest reconciliation run)</h3><p id="drift-status"></p>
<div class="scroll"><table><thead><tr><th>system</th><th>field</th><th>compared</th><th>drifted</th>` +
    `<th>drift rate</th>` +
    `<th>format only</th></tr></thead><tbody id="drift-body"></tbody></table></div>
<script>${CONSOLE_SCRIPT}</script>
</main></body></html>`
  );
}
