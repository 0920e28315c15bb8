/** Counts the console shows without a key: numbers only, never an id, a name or a path. */
export interface ConsoleCounts {
  customers: number;
  households: number;
  inbox: { status: string; n: number }[];
  jobs: { status: string; n: number }[];
  late_writebacks: number;
  review_pending: number;
  window_s: number;
}

const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const FAVICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E" +
  "%3Cpath d='M8 1 1 7h2v8h4v-5h2v5h4V7h2z' fill='%23b5471b'/%3E%3C/svg%3E";

/** The console's areas, in navigation order: hash route and label. */
export const CONSOLE_AREAS = [
  ['#/', 'Overview'],
  ['#/customers', 'Customers'],
  ['#/households', 'Households'],
  ['#/writeback', 'Write-back'],
  ['#/review', 'Identity review'],
  ['#/drift', 'Drift'],
  ['#/connectors', 'Connectors'],
  ['#/governance', 'Governance'],
] as const;

function tile(label: string, value: number, id: string, warn = false): string {
  const cls = warn && value > 0 ? 'tile warn' : 'tile';
  return `<div class="${cls}"><dt>${esc(label)}</dt><dd id="${id}">${value}</dd></div>`;
}

/**
 * The console's HTML shell: navigation, the key form and the counts (all a visitor without a key
 * sees). The areas themselves are drawn by the modules under `/console/` (src/console/), which
 * call `/v1` with the operator's key from session storage.
 */
export function renderConsole(c: ConsoleCounts): string {
  const count = (rows: { status: string; n: number }[], status: string) =>
    rows.find((r) => r.status === status)?.n ?? 0;
  const nav = CONSOLE_AREAS.map(([href, label]) => `<a href="${href}">${label}</a>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Hearth console</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="${FAVICON}">
<link rel="stylesheet" href="/console/vendor/uplot.css"><link rel="stylesheet" href="/console/console.css">
<script type="module" src="/console/app.ts"></script>
</head><body><a class="skip" href="#view">Skip to content</a>
<header class="top"><div class="brand">Hearth <span>console</span></div>
<nav aria-label="Console areas">${nav}</nav>
<form id="key-form" class="key"><label for="api-key">API key</label>
<input id="api-key" type="password" autocomplete="off" spellcheck="false" placeholder="hk_…">
<button id="sign-in">Sign in</button><button id="sign-out" type="button" hidden>Sign out</button></form>
<p id="key-status" class="status" role="status"></p></header>
<main id="view" tabindex="-1"><h1>Overview</h1>
<section id="counts" aria-labelledby="counts-h"><h2 id="counts-h">Right now</h2><dl class="tiles">
${tile('Customers', c.customers, 'n-customers')}${tile('Households', c.households, 'n-households')}
${tile('Inbox pending', count(c.inbox, 'pending'), 'n-inbox-pending')}
${tile('Inbox failed', count(c.inbox, 'failed'), 'n-inbox-failed', true)}
${tile('Jobs pending', count(c.jobs, 'pending') + count(c.jobs, 'running'), 'n-jobs-pending')}
${tile('Dead letters', count(c.jobs, 'dead'), 'n-dead', true)}
${tile(`Write-backs past the ${c.window_s} s window`, c.late_writebacks, 'n-late', true)}
${tile('Waiting for review', c.review_pending, 'n-review', true)}</dl></section>
<p id="signin-hint">Sign in with an API key to open customers, households, write-backs, identity review, drift,
connectors and governance. Without a key the console shows these counts only.</p></main>
<footer><a href="/docs">API docs</a> · <a href="/metrics">Metrics</a></footer>
</body></html>`;
}
