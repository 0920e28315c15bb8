import type { JobsTable } from '../db/schema.ts';

export interface ConsoleData {
  inbox: { status: string; n: number }[];
  jobs: { target: string; status: string; n: number }[];
  late: JobsTable[];
  window_s: number;
  database: string;
}

const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The console's landing page: queue depths and late write-backs, server-rendered, no script.
 * It shows counts and ids only; customer details need an API key (`/v1/customers/:id`).
 */
export function renderConsole(d: ConsoleData): string {
  const inboxRows = d.inbox.map((r) => `<tr><td>${esc(r.status)}</td><td>${r.n}</td></tr>`).join('') || '<tr><td colspan="2">empty</td></tr>';
  const jobRows = d.jobs.map((r) => `<tr><td>${esc(r.target)}</td><td class="s-${esc(r.status)}">${esc(r.status)}</td><td>${r.n}</td></tr>`).join('') || '<tr><td colspan="3">no jobs yet</td></tr>';
  const lateRows = d.late.map((j) => `<tr><td>${esc(j.id)}</td><td>${esc(j.customer_id)}</td><td>${esc(j.status)}</td><td>${new Date(j.origin_at).toISOString()}</td><td>${j.done_at ? ((j.done_at - j.origin_at) / 1000).toFixed(1) + ' s' : 'not yet'}</td></tr>`).join('') || '<tr><td colspan="5">none: every write-back within the window</td></tr>';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Hearth console</title>
<meta http-equiv="refresh" content="5">
<style>body{font:14px system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;margin-bottom:1.5rem}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}.s-dead{color:#b00;font-weight:bold}.s-done{color:#070}</style>
</head><body><h1>Hearth</h1><p>Database: <code>${esc(d.database)}</code> · <a href="/docs">API docs</a> · <a href="/metrics">metrics</a></p>
<h2>Inbox</h2><table><tr><th>status</th><th>events</th></tr>${inboxRows}</table>
<h2>Outbound jobs</h2><table><tr><th>target</th><th>status</th><th>jobs</th></tr>${jobRows}</table>
<h2>Write-backs past the ${d.window_s} s sync window</h2><table><tr><th>job</th><th>customer</th><th>status</th><th>corrected at</th><th>lag</th></tr>${lateRows}</table>
</body></html>`;
}
