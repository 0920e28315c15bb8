import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { loadAverage } from './procs.ts';

/**
 * `npm run bench [-- name ...] [--runs N] [--noisy] [--quick]`: runs the benchmarks and prints one
 * JSON document (also written to bench/out/results.json). Each benchmark measures its own baseline
 * in the same run; ingest, engine, writeback_lag and loyalty report the median, min and max of N
 * runs (default 3). --noisy keeps a neighbour process burning one core for the whole run, so
 * "under contention" is a figure. --quick (about 2 minutes) runs each bench once on smaller
 * workloads: a smoke test of the bench and a rough figure, not the published one (the full run
 * takes about 11 minutes on an idle 2-core machine).
 */
type Opts = { runs?: number; quick: boolean };
const Q = <T>(o: Opts, small: T): T | undefined => (o.quick ? small : undefined);
const BENCHES: Record<string, (o: Opts) => Promise<Record<string, unknown>>> = {
  address: async () => (await import('./address.ts')).runAddressBench(),
  ingest: async (o) => (await import('./ingest.ts')).runIngestBench({ ...o, ...Q(o, { requests: 2000 }) }),
  engine: async (o) => (await import('./engine.ts')).runEngineBench({ ...o, ...Q(o, { events: 5000 }) }),
  writeback_lag: async (o) =>
    (await import('./writeback-lag.ts')).runWritebackLagBench({ ...o, ...Q(o, { seconds: 5 }) }),
  identity: async (o) => (await import('./identity.ts')).runIdentityBench({ ...Q(o, { sizes: [100_000] }) }),
  loyalty: async (o) => (await import('./loyalty.ts')).runLoyaltyBench({ ...o, ...Q(o, { orders: 1000 }) }),
  households_pull: async (o) => (await import('./households-pull.ts')).runHouseholdsPullBench(o),
  audit: async (o) => (await import('./audit.ts')).runAuditBench({ ...Q(o, { contacts: 50_000, orderRows: 100_000 }) }),
  scaleout: async (o) =>
    (await import('./scaleout.ts')).runScaleoutBench({ ...Q(o, { events: 500, workers: [1, 2] }) }),
  billing_fanout: async (o) =>
    (await import('./billing-fanout.ts')).runBillingFanoutBench({
      ...o,
      ...Q(o, { seconds: 4, burst: 100, warmup: 100 }),
    }),
};

const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const quick = args.includes('--quick');
const opts: Opts = { quick, ...(runsAt >= 0 ? { runs: Number(args[runsAt + 1]) } : quick ? { runs: 1 } : {}) };
if (opts.runs !== undefined && !(opts.runs >= 1)) {
  process.stderr.write('bench: --runs needs a number of at least 1\n');
  process.exit(2);
}
const wanted = args.filter((a, i) => !a.startsWith('-') && !(runsAt >= 0 && i === runsAt + 1));
const unknown = wanted.filter((w) => !BENCHES[w]);
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')} (known: ${Object.keys(BENCHES).join(', ')})\n`);
  process.exit(2);
}
const results: Record<string, unknown> = {
  machine: { node: process.version, cpus: availableParallelism(), memory_gb: Math.round(totalmem() / 2 ** 30) },
  started_at: new Date().toISOString(),
  quick,
  load_average_at_start: loadAverage(),
};
const noisy = args.includes('--noisy') ? spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }) : null;
results.noisy_neighbour = noisy !== null;
const t0 = performance.now();
for (const name of wanted.length ? wanted : Object.keys(BENCHES)) {
  process.stderr.write(`bench: ${name}...\n`);
  try {
    results[name] = await BENCHES[name]!(opts);
  } catch (err) {
    results[name] = { error: (err as Error).message };
    process.exitCode = 1;
  }
  save(); // after every bench, so a long run interrupted late keeps what it measured
}
noisy?.kill();
results.load_average_at_end = loadAverage();
save();
console.log(JSON.stringify(results, null, 2));

function save(): void {
  results.duration_seconds = Math.round((performance.now() - t0) / 1000);
  mkdirSync(new URL('./out/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./out/results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
}
