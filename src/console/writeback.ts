/** Write-back: lag histogram, the sync-window SLO over time, late write-backs, dead letters with re-drive. */
import { get } from './api.ts';
import { chart } from './chart.ts';
import { redriveButton } from './customers.ts';
import { badge, customerLink, el, percent, say, seconds, section, shortId, status, table, when } from './dom.ts';

const RANGES = [
  { label: 'Last hour, per minute', hours: 1, bucket_seconds: 60 },
  { label: 'Last 24 hours, per hour', hours: 24, bucket_seconds: 3600 },
  { label: 'Last 30 days, per day', hours: 720, bucket_seconds: 86_400 },
];
let range = 1;

export async function writebackPage(view: HTMLElement): Promise<void> {
  const line = status('writeback-status');
  const select = el('select', { id: 'lag-range' });
  RANGES.forEach((r, i) => select.append(el('option', { value: String(i), selected: i === range }, r.label)));
  const charts = el('div', { id: 'lag-charts' });
  select.addEventListener('change', () => {
    range = Number(select.value);
    void drawCharts(charts);
  });
  view.append(
    el('h1', {}, 'Write-back'),
    line,
    section('Lag and the sync window', el('p', {}, el('label', { for: 'lag-range' }, 'Period '), select), charts),
  );
  await drawCharts(charts);
  view.append(await lateSection(), await deadSection(line));
}

async function drawCharts(box: HTMLElement): Promise<void> {
  const r = RANGES[range]!;
  const lag = await get('/v1/writeback/lag', { query: { hours: r.hours, bucket_seconds: r.bucket_seconds } });
  const done = lag.data.reduce((n, b) => n + b.done, 0);
  const within = lag.data.reduce((n, b) => n + b.within_window, 0);
  const labels = lag.histogram.map((b, i) =>
    b.le_seconds === null ? `>${short(lag.histogram[i - 1]?.le_seconds ?? 0)}` : `≤${short(b.le_seconds)}`,
  );
  box.replaceChildren(
    el(
      'dl',
      { class: 'tiles' },
      tile('Address write-backs done', String(done)),
      tile(`Within ${lag.sync_window_seconds} s`, done ? percent(within / done) : '–'),
      tile('Open past the window', String(lag.open_past_window), lag.open_past_window > 0),
      tile('Dead', String(lag.dead), lag.dead > 0),
    ),
    el(
      'div',
      { class: 'grid2' },
      chart({
        title: 'Lag from the change to the CRM write (address write-backs)',
        xs: lag.histogram.map((_, i) => i),
        xLabels: labels,
        series: [{ label: 'write-backs', values: lag.histogram.map((b) => b.count) }],
        yLabel: 'write-backs',
        fmt: (v) => String(Math.round(v)),
        bars: true,
      }),
      chart({
        title: `Share written within the ${lag.sync_window_seconds} s sync window`,
        xs: lag.data.map((b) => Date.parse(b.at) / 1000),
        series: [{ label: 'within window', values: lag.data.map((b) => (b.ratio === null ? null : 100 * b.ratio)) }],
        yLabel: '%',
        fmt: (v) => `${v.toFixed(0)}%`,
        yMax: 105,
        line: { label: 'target 99%', value: 99 },
      }),
    ),
  );
}

function tile(label: string, value: string, warn = false): HTMLElement {
  return el('div', { class: warn ? 'tile warn' : 'tile' }, el('dt', {}, label), el('dd', {}, value));
}

async function lateSection(): Promise<HTMLElement> {
  const late = await get('/v1/writeback/late', { query: { limit: 100 } });
  return section(
    `Write-backs past the ${late.sync_window_seconds} s window`,
    el(
      'div',
      { id: 'late' },
      table(
        'Late write-backs',
        ['Job', 'Customer', 'State', 'Changed', 'Written', 'Lag', 'Vendor error'],
        late.data.map((j) => [
          shortId(j.id),
          customerLink(j.customer_id),
          badge(j.status),
          when(j.origin_at),
          when(j.done_at) || 'not yet',
          j.lag_seconds === null ? '' : seconds(j.lag_seconds),
          j.last_error ? el('span', { class: 'vendor-error' }, j.last_error) : '',
        ]),
        'none: every write-back within the window',
      ),
    ),
  );
}

async function deadSection(line: HTMLElement): Promise<HTMLElement> {
  const dead = await get('/v1/jobs', { query: { status: 'dead', limit: 100 } });
  say(line, `${dead.data.length} dead letter(s)${dead.next_after ? ' (first 100)' : ''}.`);
  return section(
    'Dead letters',
    el(
      'p',
      {},
      'A job that failed for good, with the vendor’s error. Re-drive it once the cause is fixed (operator key).',
    ),
    el(
      'div',
      { id: 'dead' },
      table(
        'Dead letters',
        ['Job', 'System', 'Customer', 'What', 'Tries', 'Failure', 'Vendor error', ''],
        dead.data.map((j) => [
          shortId(j.id),
          j.target,
          customerLink(j.customer_id),
          j.kind,
          String(j.attempts),
          j.last_error_kind,
          el('span', { class: 'vendor-error' }, j.last_error ?? ''),
          redriveButton(j.id, line),
        ]),
        'no dead letters',
      ),
    ),
  );
}

/** 1s, 30s, 2m, 1h: bucket bounds short enough for an axis on a phone. */
function short(s: number): string {
  return s < 60 ? `${s}s` : s < 3600 ? `${s / 60}m` : `${s / 3600}h`;
}
