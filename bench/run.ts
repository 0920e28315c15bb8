import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { cpuTicks, loadAverage, settle, stealShare } from './procs.ts';

/**
 * `npm run bench [-- name ...] [--runs N] [--noisy] [--quick]`: runs the benchmarks and prints one
 * JSON document (also written to bench/out/results.json). Each benchmark measures its own baseline
 * in the same run, timed in rounds interleaved with what it is the baseline of, so both see the
 * same spell of the machine (engine: raw upsert windows between the engine's drains; ingest: the
 * bare route before and after Hearth; households_pull: second pulls alternating with the listing;
 * address: every parser on every set in turn, 8 rounds of 1 s windows). ingest, engine,
 * writeback_lag, loyalty, households_pull and billing_fanout report the median, min and max of N
 * runs (default 3). --noisy keeps a neighbour process burning one core for the whole run, so
 * "under contention" is a figure. --quick runs each bench once on much smaller workloads and
 * shorter windows: a smoke test of the bench and a rough figure, not the published one (141 s on
 * the idle 2-core machine, 2 December 2026; 214 s before; a third of it is process start-up and
 * FEBRL's fixed files). The full run took 1,347-1,396 s before the interleaved rounds and the 10 s
 * idle windows, which add about two minutes (docs/bench/two-runs.md).
 */
type Opts = { runs?: number; quick: boolean };
const Q = <T>(o: Opts, small: T): T | undefined => (o.quick ? small : undefined);
const BENCHES: Record<string, (o: Opts) => Promise<Record<string, unknown>>> = {
  address: async (o) =>
    (await import('./address.ts')).runAddressBench({
      ...Q(o, { seconds: 0.3, rounds: 3, synthetic: 10_000, warmMs: 200 }),
    }),
  ingest: async (o) => (await import('./ingest.ts')).runIngestBench({ ...o, ...Q(o, { requests: 1000 }) }),
  engine: async (o) =>
    (await import('./engine.ts')).runEngineBench({ ...o, ...Q(o, { events: 3000, baselineSeconds: 0.3 }) }),
  writeback_lag: async (o) =>
    (await import('./writeback-lag.ts')).runWritebackLagBench({ ...o, ...Q(o, { seconds: 3, warmup: 100 }) }),
  identity: async (o) => (await import('./identity.ts')).runIdentityBench({ ...Q(o, { sizes: [5000] }) }),
  loyalty: async (o) =>
    (await import('./loyalty.ts')).runLoyaltyBench({ ...o, ...Q(o, { orders: 500, customers: 200 }) }),
  households_pull: async (o) =>
    (await import('./households-pull.ts')).runHouseholdsPullBench({
      ...o,
      ...Q(o, { contacts: 500, minSeconds: 0.3 }),
    }),
  audit: async (o) =>
    (await import('./audit.ts')).runAuditBench({ ...Q(o, { contacts: 20_000, orderRows: 40_000, rounds: 1 }) }),
  backfill: async (o) =>
    (await import('./backfill.ts')).runBackfillBench({
      ...Q(o, { orders: 10_000, contacts: 500, sample: 300, perOrderSeconds: 0.3 }),
    }),
  scaleout: async (o) =>
    (await import('./scaleout.ts')).runScaleoutBench({ ...o, ...Q(o, { events: 100, workers: [1, 2] }) }),
  billing_fanout: async (o) =>
    (await import('./billing-fanout.ts')).runBillingFanoutBench({
      ...o,
      ...Q(o, { seconds: 2, burst: 50, warmup: 50, idleSeconds: 1 }),
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
const childAt = args.indexOf('--child');
if (childAt >= 0) {
  // One bench in this (fresh) process; the parent reads the JSON from stdout.
  console.log(JSON.stringify(await BENCHES[args[childAt + 1]!]!(opts)));
  process.exit(0);
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
const settled: Record<string, unknown> = {};
results.settle = settled;
// Per bench, the share of CPU time the hypervisor gave other guests (/proc/stat steal): context
// for a figure that moved between runs with nothing changed on this machine.
const steal: Record<string, number | null> = {};
results.cpu_steal_share = steal;
for (const name of wanted.length ? wanted : Object.keys(BENCHES)) {
  // Without --noisy, each bench starts once the machine is quiet again (the previous bench's
  // processes gone, PostgreSQL's dirty pages flushed), so it does not pay for its predecessor.
  // --quick waits at most 2 s: a smoke test on a busy machine should not wait for it to go quiet.
  if (!noisy) settled[name] = await settle(quick ? 2 : 30);
  process.stderr.write(`bench: ${name}...\n`);
  const ticks = cpuTicks();
  try {
    results[name] = await runChild(name);
  } catch (err) {
    results[name] = { error: (err as Error).message };
    process.exitCode = 1;
  }
  steal[name] = stealShare(ticks, cpuTicks());
  save(); // after every bench, so a long run interrupted late keeps what it measured
}
noisy?.kill();
results.load_average_at_end = loadAverage();
save();
console.log(JSON.stringify(results, null, 2));

/**
 * Each bench runs in a fresh Node process: run in one process, a bench inherited the heap and the
 * JIT state of the ones before it (the 1M-record identity bench leaves 1.6 GB behind), and the
 * same bench disagreed with itself across full runs by 20-38%.
 */
function runChild(name: string): Promise<Record<string, unknown>> {
  const flags = [...(quick ? ['--quick'] : []), ...(opts.runs ? ['--runs', String(opts.runs)] : [])];
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', name, ...flags], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${name} exited with code ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!));
      } catch {
        reject(new Error(`${name} printed no JSON result`));
      }
    });
  });
}

function save(): void {
  results.duration_seconds = Math.round((performance.now() - t0) / 1000);
  mkdirSync(new URL('./out/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./out/results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
}
