import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase, type HearthDb } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import type { CanonicalEvent } from '../src/canonical/types.ts';
import { createEventApplier } from '../src/flows/apply-events.ts';
import { applyPendingEvents } from '../src/engine/apply-loop.ts';
import type { EngineContext } from '../src/flows/context.ts';

export interface BenchDb {
  hdb: HearthDb;
  url: string;
  drop(): Promise<void>;
}

export const ADMIN_URL = process.env.HEARTH_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function sqliteBenchDb(): Promise<BenchDb> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-'));
  const url = `sqlite:${join(dir, 'bench.db')}`;
  const hdb = openDatabase(url);
  await migrateToLatest(hdb.db);
  return {
    hdb,
    url,
    drop: async () => {
      await hdb.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh PostgreSQL database, or null (with a note on stderr) when no server answers. */
export async function postgresBenchDb(): Promise<BenchDb | null> {
  const name = `hearth_bench_${process.pid}_${Date.now() % 100000}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await admin.connect();
  } catch {
    process.stderr.write(`bench: PostgreSQL not reachable at ${ADMIN_URL}; skipping its figures\n`);
    return null;
  }
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  const hdb = openDatabase(url, { poolSize: 8 });
  await migrateToLatest(hdb.db);
  return {
    hdb,
    url,
    drop: async () => {
      await hdb.close();
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const round = (n: number, digits = 1): number => Number(n.toFixed(digits));

/**
 * Flushes what earlier work left behind before a timed window: SQLite's WAL is checkpointed and
 * truncated, PostgreSQL writes its dirty pages. Without it a window pays, or not, for its
 * predecessor's checkpoint depending on timing: the raw baselines of two identical runs differed
 * by 23-27% (docs/bench/two-runs.md).
 */
export async function quiesce(bdb: BenchDb): Promise<void> {
  if (bdb.hdb.caps.name === 'sqlite') await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(bdb.hdb.db);
  else await sql`CHECKPOINT`.execute(bdb.hdb.db);
}

/**
 * Repeats `batch(i)` (i = rows written so far) until at least `minRows` rows and `minSeconds` have
 * passed: a raw baseline of 5,000 rows at 70,000 rows/s lasted 70 ms, too short to be a figure.
 */
export async function timedBatches(
  minRows: number,
  minSeconds: number,
  batch: (done: number) => Promise<number>,
): Promise<{ rows: number; seconds: number; rows_per_second: number; cpu_ms_per_row: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let rows = 0;
  while (rows < minRows || performance.now() - t0 < minSeconds * 1000) rows += await batch(rows);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    rows,
    seconds: round(seconds, 2),
    rows_per_second: round(rows / seconds, 0),
    cpu_ms_per_row: round((cpu.user + cpu.system) / 1000 / rows, 4),
  };
}

/** Applies every pending inbox event through the engine, as the inbox worker does; timed. */
export async function drainInbox(hdb: HearthDb, ctx: EngineContext): Promise<{ applied: number; seconds: number }> {
  const t0 = performance.now();
  let applied = 0;
  for (;;) {
    const r = await applyPendingEvents(hdb, createEventApplier(ctx), 500, Date.now);
    if (r.outcomes.length === 0) break;
    applied += r.applied;
  }
  return { applied, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Checkout event i: a corrected address from a new Shopify customer (`<prefix><i>@example.com`,
 * Shopify id idBase + i); every third one with a unit.
 */
export function checkoutEvent(i: number, idBase: number, prefix: string): CanonicalEvent {
  return {
    type: 'checkout.address_confirmed',
    source: 'shopify',
    external_id: String(idBase + i),
    order_id: `#${i}`,
    occurred_at: Date.now(),
    contact: { given_name: 'Ana', family_name: `Bench${i}`, email: `${prefix}${i}@example.com`, phone: null },
    address: {
      line1: `${i} Main Street`,
      line2: i % 3 === 0 ? `Apt ${i % 50}B` : null,
      city: 'Springfield',
      region: 'IL',
      postal_code: '62701',
      country: 'US',
    },
  };
}

/** Shopify order i from the opted-in `member<i mod customers>@bench.example` (the ledger benches' seed). */
export function orderEvent(i: number, customers: number): CanonicalEvent {
  return {
    type: 'order.placed',
    source: 'shopify',
    external_id: null,
    order_id: String(500_000 + i),
    order_name: `#${500_000 + i}`,
    contact: { email: `member${i % customers}@bench.example` },
    total_minor: 2_000 + (i % 50) * 1_000,
    currency: 'USD',
    line_count: 1,
    occurred_at: Date.now(),
  };
}
