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
 * the same database: the ceiling any engine on that database could reach. Median of `runs` runs, each
 * on a fresh database; CPU is this process's (the engine's) per event: on PostgreSQL the server's
 * own CPU is not included.
 */
export async function runEngineBench(opts: { events?: number; runs?: number } = {}): Promise<Record<string, unknown>> {
  const n = opts.events ?? 20_000;
  return { events: n, ...(await repeated(opts.runs ?? 3, () => engineRun(n))) };
}

async function engineRun(n: number): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, open] of [
    ['sqlite', sqliteBenchDb],
    ['postgres', postgresBenchDb],
  ] as const) {
    const bdb = await open();
    if (!bdb) continue;
    try {
      out[name] = { engine: await engineRate(bdb, n), baseline_upsert: await upsertRate(bdb, n) };
    } finally {
      await bdb.drop();
    }
  }
  return out;
}

async function engineRate(bdb: BenchDb, n: number) {
  const db = bdb.hdb.db;
  for (let i = 0; i < n; i += 1000) {
    await storeDeliveries(
      db,
      'shopify',
      Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({
        delivery_id: `b-${i + k}`,
        event: checkoutEvent(i + k, 100_000, 'bench'),
      })),
      Date.now(),
    );
  }
  const config = parseConfig({
    connectors: {
      hubspot: { access_token: 'x', base_url: 'http://127.0.0.1:1' },
      webhook: { targets: [{ name: 'loyalty', url: 'http://127.0.0.1:1/x', secret: 'whsec_bench_1' }] },
    },
    writeback: { crm: 'hubspot' },
  });
  await quiesce(bdb);
  const cpu0 = process.cpuUsage();
  const { applied, seconds } = await drainInbox(bdb.hdb, engineContext(config));
  const cpu = process.cpuUsage(cpu0);
  const count = async (t: string) =>
    Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(t)}`.execute(db)).rows[0]!.n);
  const jobs = await count('jobs');
  // Rows the engine wrote: customers, crosswalk, change lineage (one per event), jobs, plus one inbox update per event.
  const rows =
    (await count('customers')) + (await count('source_links')) + (await count('change_lineage')) + jobs + applied;
  return {
    applied,
    jobs_enqueued: jobs,
    rows_written: rows,
    seconds: round(seconds, 2),
    events_per_second: round(applied / seconds, 0),
    rows_written_per_second: round(rows / seconds, 0),
    cpu_ms_per_event: round((cpu.user + cpu.system) / 1000 / applied, 3),
  };
}

/** The database's own rate: batched upserts of customer rows, 500 per transaction, for at least 2 s. */
async function upsertRate(bdb: BenchDb, n: number) {
  const db = bdb.hdb.db;
  await quiesce(bdb);
  return timedBatches(n, 2, async (i) => {
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
