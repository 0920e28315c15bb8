import { readFileSync } from 'node:fs';

/**
 * `node bench/table.ts`: prints the README's Benchmarks rows for the repeated benches from
 * bench/out/results.json, so the README shows only figures the bench produced. Each figure is
 * "median (min–max)" over the runs; a single value means every run agreed.
 */
type Tree = { [key: string]: unknown };

const results = JSON.parse(readFileSync(new URL('./out/results.json', import.meta.url), 'utf8')) as Tree;

function at(path: string): unknown {
  let v: unknown = results;
  for (const key of path.split('.')) v = (v as Tree | undefined)?.[key];
  return v;
}

/** "median (min–max)", or the single value when the runs agreed; thousands separated. */
function fig(path: string, unit = ''): string {
  const v = at(path);
  const n = (x: unknown) => (typeof x === 'number' ? x.toLocaleString('en-US') : '?');
  if (v && typeof v === 'object' && 'median' in v) {
    const s = v as { median: number; min: number; max: number };
    return `${n(s.median)}${unit} (${n(s.min)}–${n(s.max)})`;
  }
  return `${n(v)}${unit}`;
}

function loads(path: string): string {
  const v = at(path) as number[][] | undefined;
  return v ? v.map((l) => l[0]).join(' / ') : '?';
}

/** Figures under one bench's key. */
const under =
  (bench: string) =>
  (path: string, unit = ''): string =>
    fig(`${bench}.${path}`, unit);

function ingestRow(): string {
  const f = under('ingest');
  return [
    `| webhook → durable inbox over HTTP (${f('requests')} signed Shopify \`orders/create\` deliveries,`,
    `${f('concurrency')} concurrent, load generator in its own process; each stores two events;`,
    `1-min load average per run ${loads('ingest.load_average')})`,
    `| ${f('hearth_sqlite.requests_per_second')} req/s on SQLite (\`hearth serve --no-workers\`);`,
    `CPU ${f('hearth_sqlite.cpu.server.ms_per_event')} ms per request`,
    `| bare Fastify route in another process: ${f('bare_fastify.requests_per_second')} req/s;`,
    `CPU ${f('bare_fastify.cpu.server.ms_per_event')} ms per request |`,
  ].join(' ');
}

function engineRow(): string {
  const f = under('engine');
  return [
    `| engine: events applied per second (${f('events')} checkout corrections from new customers, each:`,
    'identity matching, customer upsert, crosswalk, ~8 change-log rows, blocking keys, 2 outbox jobs;',
    `1-min load average per run ${loads('engine.load_average')})`,
    `| SQLite ${f('sqlite.engine.events_per_second')}/s, CPU ${f('sqlite.engine.cpu_ms_per_event')} ms/event ·`,
    `PostgreSQL ${f('postgres.engine.events_per_second')}/s, CPU ${f('postgres.engine.cpu_ms_per_event')} ms/event`,
    "(Hearth's process only)",
    `| raw batched upsert: SQLite ${f('sqlite.baseline_upsert.rows_per_second')} rows/s ·`,
    `PostgreSQL ${f('postgres.baseline_upsert.rows_per_second')} rows/s |`,
  ].join(' ');
}

function lagRow(): string {
  const f = under('writeback_lag');
  return [
    `| write-back lag at a steady ${f('rate_per_second')} events/s for ${f('events')} events`,
    "(load generator's send → simulated HubSpot's acknowledgement; Hearth, simulator and load generator",
    `in three processes; 1-min load average per run ${loads('writeback_lag.load_average')})`,
    `| p50 ${f('lag_ms_send_to_ack.p50', ' ms')} · p99 ${f('lag_ms_send_to_ack.p99', ' ms')};`,
    `Hearth's \`hearth_writeback_lag_seconds\`: p50 ≤ ${f('hearth_histogram.p50_at_most_ms', ' ms')} ·`,
    `p99 ≤ ${f('hearth_histogram.p99_at_most_ms', ' ms')}; Hearth CPU ${f('cpu.hearth.ms_per_event')} ms/event`,
    '| the same SDK update sent by the load generator straight to the simulator:',
    `p50 ${f('baseline_direct_sdk_update_ms.p50', ' ms')} · p99 ${f('baseline_direct_sdk_update_ms.p99', ' ms')} |`,
  ].join(' ');
}

function loyaltyRow(): string {
  const f = under('loyalty');
  const sizes = (db: string) =>
    `${[1, 5, 50].map((s) => f(`${db}.household_of_${s}.per_second`)).join(' / ')} per s, ` +
    `CPU ${f(`${db}.household_of_5.cpu_ms_per_event`)} ms/order (households of 5)`;
  return [
    '| points ledger: Shopify orders applied per second (earn into the household pool, tier re-evaluation of',
    `every member, \`order.enriched\` + \`tier.changed\` jobs), ${f('orders')} orders,`,
    `${f('customers')} opted-in customers in households of 1 / 5 / 50;`,
    `1-min load average per run ${loads('loyalty.load_average')}`,
    `| SQLite ${sizes('sqlite')} · PostgreSQL ${sizes('postgres')}`,
    `| the same engine on address events, no ledger: SQLite ${f('sqlite.baseline_address_events.per_second')}/s ·`,
    `PostgreSQL ${f('postgres.baseline_address_events.per_second')}/s; raw batched inserts into the ledger table:`,
    `SQLite ${f('sqlite.baseline_raw_ledger_insert.rows_per_second')} rows/s ·`,
    `PostgreSQL ${f('postgres.baseline_raw_ledger_insert.rows_per_second')} rows/s |`,
  ].join(' ');
}

const ROWS: [string, () => string][] = [
  ['ingest', ingestRow],
  ['engine', engineRow],
  ['writeback_lag', lagRow],
  ['loyalty', loyaltyRow],
];

console.log(
  ROWS.filter(([key]) => at(key) && !(at(key) as Tree).error)
    .map(([, row]) => row())
    .join('\n'),
);
