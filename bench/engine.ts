import { sql } from 'kysely';
import { parseConfig } from '../src/config/loader.ts';
import { engineContext } from '../src/runtime.ts';
import { storeDeliveries } from '../src/engine/inbox.ts';
import {
  checkoutEvent,
  drainInbox,
  postgresBenchDb,
  quiesce,
  round,
  sqliteBenchDb,
  timedBatches,
  type BenchDb,
} from './db-fixtures.ts';
import { repeated } from './procs.ts';

/**
 * Events applied per second by the engine (resolve customer, ownership policy, change log,
 * outbox jobs, inbox status: one transaction per batch), beside the raw batched upsert rate of
 * the same database, timed in windows between the engine's drains: the ceiling any engine on that
 * database could reach. Median of `runs` runs, each
 * on a fresh database; CPU is this process's (the engine's) per event: on PostgreSQL the server's
 * own CPU is not included.
 */
export async function runEngineBench(
  opts: { events?: number; runs?: number; chunks?: number; baselineSeconds?: number } = {},
): Promise<Record<string, unknown>> {
  const n = opts.events ?? 20_000;
  const chunks = opts.chunks ?? 3;
  const minSeconds = opts.baselineSeconds ?? 2;
  return {
    events: n,
    baseline_note:
      `raw upsert: ${chunks + 1} windows of at least ${minSeconds} s interleaved with the engine's ` +
      `${chunks} drains; median of the windows`,
    ...(await repeated(opts.runs ?? 3, () => engineRun(n, chunks, minSeconds))),
  };
}

async function engineRun(n: number, chunks: number, minSeconds: number): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, open] of [
    ['sqlite', sqliteBenchDb],
    ['postgres', postgresBenchDb],
  ] as const) {
    const bdb = await open();
    if (!bdb) continue;
    try {
      out[name] = await interleaved(bdb, n, chunks, minSeconds);
    } finally {
      await bdb.drop();
    }
  }
  return out;
}

/**
 * The engine's `n` events in `chunks` parts, each part's drain preceded by one raw-upsert window
 * (and one more after the last): baseline, engine, baseline, engine, ..., baseline. The engine's
 * rate is all events over all drain time; the baseline's is the median of its windows (min and
 * max beside it). Before, one 2 s baseline window ran after the whole engine drain, and the
 * PostgreSQL baseline of two idle full runs differed by 24% (57,078 vs 43,563 rows/s,
 * docs/bench/two-runs.md): a single window sees one moment of the host and of the database's
 * own flushing; windows spread over the engine's time see the same conditions as the engine.
 */
async function interleaved(bdb: BenchDb, n: number, chunks: number, minSeconds: number) {
  const db = bdb.hdb.db;
  const config = parseConfig({
    connectors: {
      hubspot: { access_token: 'x', base_url: 'http://127.0.0.1:1' },
      webhook: { targets: [{ name: 'loyalty', url: 'http://127.0.0.1:1/x', secret: 'whsec_bench_1' }] },
    },
    writeback: { crm: 'hubspot' },
  });
  const ctx = engineContext(config);
  const windows: Awaited<ReturnType<typeof upsertWindow>>[] = [];
  let baselineRows = 0;
  let applied = 0;
  let seconds = 0;
  let cpuMs = 0;
  const base = async () => {
    const w = await upsertWindow(bdb, n / chunks, minSeconds, baselineRows);
    baselineRows += w.rows;
    windows.push(w);
  };
  const size = Math.ceil(n / chunks);
  for (let from = 0; from < n; from += size) {
    await base();
    const to = Math.min(n, from + size);
    for (let i = from; i < to; i += 1000) {
      await storeDeliveries(
        db,
        'shopify',
        Array.from({ length: Math.min(1000, to - i) }, (_, k) => ({
          delivery_id: `b-${i + k}`,
          event: checkoutEvent(i + k, 100_000, 'bench'),
        })),
        Date.now(),
      );
    }
    await quiesce(bdb);
    const cpu0 = process.cpuUsage();
    const d = await drainInbox(bdb.hdb, ctx);
    const cpu = process.cpuUsage(cpu0);
    applied += d.applied;
    seconds += d.seconds;
    cpuMs += (cpu.user + cpu.system) / 1000;
  }
  await base();
  const count = async (t: string) =>
    Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(t)}`.execute(db)).rows[0]!.n);
  const jobs = await count('jobs');
  // Rows the engine wrote: customers (less the baseline's), crosswalk, change lineage (one per
  // event), jobs, plus one inbox update per event.
  const rows =
    (await count('customers')) -
    baselineRows +
    (await count('source_links')) +
    (await count('change_lineage')) +
    jobs +
    applied;
  const rates = windows.map((w) => w.rows_per_second).sort((a, b) => a - b);
  const cpuPerRow = windows.map((w) => w.cpu_ms_per_row).sort((a, b) => a - b);
  return {
    engine: {
      applied,
      jobs_enqueued: jobs,
      rows_written: rows,
      drains: chunks,
      seconds: round(seconds, 2),
      events_per_second: round(applied / seconds, 0),
      rows_written_per_second: round(rows / seconds, 0),
      cpu_ms_per_event: round(cpuMs / applied, 3),
    },
    baseline_upsert: {
      windows: windows.length,
      rows: baselineRows,
      seconds: round(
        windows.reduce((a, w) => a + w.seconds, 0),
        2,
      ),
      rows_per_second: rates[Math.floor(rates.length / 2)]!,
      rows_per_second_lowest_window: rates[0]!,
      rows_per_second_highest_window: rates.at(-1)!,
      cpu_ms_per_row: cpuPerRow[Math.floor(cpuPerRow.length / 2)]!,
    },
  };
}

/**
 * The database's own rate: batched upserts of new customer rows (ids from `offset` on), 500 per
 * transaction, for at least `minSeconds`, after the database's pending writes are flushed.
 */
async function upsertWindow(bdb: BenchDb, minRows: number, minSeconds: number, offset: number) {
  const db = bdb.hdb.db;
  await quiesce(bdb);
  return timedBatches(minRows, minSeconds, async (done) => {
    const i = offset + done;
    const rows = Array.from({ length: 500 }, (_, k) => ({
      id: `cus_base_${i + k}`,
      email: `base${i + k}@example.com`,
      email_normalized: `base${i + k}@example.com`,
      address_line1: `${i + k} Main St`,
      field_sources: '{}',
      version: 1,
      created_at: 0,
      updated_at: 0,
    }));
    await db.transaction().execute((trx) =>
      trx
        .insertInto('customers')
        .values(rows)
        .onConflict((oc) => oc.column('id').doUpdateSet({ updated_at: 1 }))
        .execute(),
    );
    return rows.length;
  });
}

if (import.meta.main) console.log(JSON.stringify(await runEngineBench(), null, 2));
