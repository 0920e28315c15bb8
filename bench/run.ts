import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { sampleHost } from './host-speed.ts';
import { cpuTicks, hostProbe, loadAverage, settle, stealShare, summarise } from './procs.ts';

/**
 * `npm run bench [-- name ...] [--rounds N] [--runs N] [--noisy] [--quick]`: runs the benchmarks
 * and prints one JSON document (also written to bench/out/results.json). Each benchmark measures its
 * own baseline in the same run, timed in windows interleaved with what it is the baseline of, so
 * both see the same spell of the machine (engine: raw upsert windows between the engine's drains;
 * ingest: the bare route before and after Hearth; households_pull: second pulls alternating with
 * the listing; address: every parser on every set in turn, 1 s windows).
 *
 * A full run goes through every bench `--rounds` times (default 3), each time in a fresh process,
 * and reports per figure the median of all rounds with min and max (backfill: its PostgreSQL part,
 * minutes long, runs in the first round only). Every round also reads the host's speed while it
 * runs (host-speed.ts, `host_speed_in_round`): context for a figure, never a filter on it.
 * --runs N makes each round repeat a bench's runs N
 * times instead of once. --noisy keeps a neighbour process burning one core for the whole run, so
 * "under contention" is a figure. --quick runs each bench once on much smaller workloads and
 * shorter windows: a smoke test of the bench and a rough figure, not the published one (141 s on
 * the idle 2-core machine, 2 December 2026). `bench_seconds` in the output gives each bench's time.
 */
type Opts = { runs?: number; quick: boolean; rounds: number; round: number };
const Q = <T>(o: Opts, small: T): T | undefined => (o.quick ? small : undefined);
/** A round's share of a repetition count: the whole of it in a run of one round. */
const part = (o: Opts, n: number): number => Math.max(1, Math.ceil(n / o.rounds));
/** `runs` for benches that repeat their runs: --runs if given, else their share of 3. */
const R = (o: Opts) => ({ runs: o.runs ?? part(o, 3) });
const BENCHES: Record<string, (o: Opts) => Promise<Record<string, unknown>>> = {
  address: async (o) =>
    (await import('./address.ts')).runAddressBench({
      rounds: part(o, 8),
      ...Q(o, { seconds: 0.3, rounds: 3, synthetic: 10_000, warmMs: 200 }),
    }),
  ingest: async (o) => (await import('./ingest.ts')).runIngestBench({ ...R(o), ...Q(o, { requests: 1000 }) }),
  engine: async (o) =>
    (await import('./engine.ts')).runEngineBench({ ...R(o), ...Q(o, { events: 3000, baselineSeconds: 0.3 }) }),
  writeback_lag: async (o) =>
    (await import('./writeback-lag.ts')).runWritebackLagBench({ ...R(o), ...Q(o, { seconds: 3, warmup: 100 }) }),
  identity: async (o) =>
    (await import('./identity.ts')).runIdentityBench({ smallRuns: part(o, 3), ...Q(o, { sizes: [5000] }) }),
  // Deterministic: statements per applied event by scenario (issue #14), not a rate.
  statements: async () => (await import('./statements.ts')).runStatementsBench(),
  loyalty: async (o) =>
    (await import('./loyalty.ts')).runLoyaltyBench({ ...R(o), ...Q(o, { orders: 500, customers: 200 }) }),
  households_pull: async (o) =>
    (await import('./households-pull.ts')).runHouseholdsPullBench({
      ...R(o),
      ...Q(o, { contacts: 500, minSeconds: 0.3 }),
    }),
  audit: async (o) =>
    (await import('./audit.ts')).runAuditBench({
      rounds: part(o, 3),
      ...Q(o, { contacts: 20_000, orderRows: 40_000, rounds: 1 }),
    }),
  backfill: async (o) =>
    (await import('./backfill.ts')).runBackfillBench({
      postgres: o.round === 0,
      ...Q(o, { orders: 10_000, contacts: 500, sample: 300, perOrderSeconds: 0.3 }),
    }),
  scaleout: async (o) =>
    (await import('./scaleout.ts')).runScaleoutBench({ ...R(o), ...Q(o, { events: 100, workers: [1, 2] }) }),
  billing_fanout: async (o) =>
    (await import('./billing-fanout.ts')).runBillingFanoutBench({
      ...R(o),
      ...Q(o, { seconds: 2, burst: 50, warmup: 50, idleSeconds: 1 }),
    }),
};

const args = process.argv.slice(2);
const numberAfter = (flag: string): number | undefined =>
  args.includes(flag) ? Number(args[args.indexOf(flag) + 1]) : undefined;
const FLAGS = ['--rounds', '--runs', '--round', '--noisy', '--quick', '--child', '--help', '-h'];
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(
    'usage: npm run bench [-- name ...] [--rounds N] [--runs N] [--noisy] [--quick]\n' +
      `benchmarks: ${Object.keys(BENCHES).join(', ')} (default: all)\n` +
      '--rounds N  each bench N times in fresh processes, median with min/max (default 3; --quick 1)\n' +
      "--runs N    repeat a bench's runs N times within a round\n" +
      '--noisy     a neighbour process burns one core for the whole run\n' +
      '--quick     small workloads and short windows: a smoke test (about 2.5 minutes)\n' +
      'A full run takes about 33 minutes on a 2-core machine; the JSON goes to stdout and bench/out/results.json.\n',
  );
  process.exit(0);
}
// A mistyped flag must not start a half-hour run.
const badFlag = args.find((a) => a.startsWith('-') && !FLAGS.includes(a));
if (badFlag) {
  process.stderr.write(`bench: unknown option ${badFlag} (see --help)\n`);
  process.exit(2);
}
const quick = args.includes('--quick');
const runs = numberAfter('--runs') ?? (quick ? 1 : undefined);
const rounds = numberAfter('--rounds') ?? (quick ? 1 : 3);
const opts: Opts = { quick, rounds, round: numberAfter('--round') ?? 0, ...(runs !== undefined ? { runs } : {}) };
for (const [flag, n] of [
  ['--runs', runs],
  ['--rounds', rounds],
] as const) {
  if (n !== undefined && !(Number.isInteger(n) && n >= 1)) {
    process.stderr.write(`bench: ${flag} needs a whole number of at least 1\n`);
    process.exit(2);
  }
}
const childAt = args.indexOf('--child');
if (childAt >= 0) {
  // One bench in this (fresh) process; the parent reads the JSON from stdout.
  console.log(JSON.stringify(await BENCHES[args[childAt + 1]!]!(opts)));
  process.exit(0);
}
const valueAt = new Set(['--runs', '--rounds', '--round'].map((f) => args.indexOf(f) + 1).filter((i) => i > 0));
const wanted = args.filter((a, i) => !a.startsWith('-') && !valueAt.has(i));
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
results.rounds = rounds;
const t0 = performance.now();
const settled: Record<string, unknown[]> = {};
results.settle = settled;
// Per bench, the share of CPU time the hypervisor gave other guests (/proc/stat steal): context
// for a figure that moved between runs with nothing changed on this machine.
const steal: Record<string, unknown> = {};
results.cpu_steal_share = steal;
// Per bench, hostProbe() just before each round: the host's speed, read the same way every time.
const probe: Record<string, unknown> = {};
results.host_probe_cpu_ms = probe;
// Per bench and round, the median host readings sampled during the round (sampleHost()): the sort
// (`per_round`, the name runs before Q used) and the memory walk.
const inRound: Record<string, { per_round: number[]; memory_per_round: number[] }> = {};
results.host_speed_in_round = inRound;
const seconds: Record<string, unknown> = {};
results.bench_seconds = seconds;
const names = wanted.length ? wanted : Object.keys(BENCHES);
const perRound: Record<string, Record<string, unknown>[]> = {};
const stealPerRound: Record<string, (number | null)[]> = {};
const probePerRound: Record<string, number[]> = {};
const speedPerRound: Record<string, number[]> = {};
const memoryPerRound: Record<string, number[]> = {};
const secondsPerRound: Record<string, number[]> = {};
// Every bench in turn, `rounds` times: each figure is the median over rounds spread across the
// whole run, so a slow spell of the host (minutes long on this VM) lands in one sample of a figure
// rather than in all of them. In one round per bench, two idle full runs disagreed by 20-35% on
// the benches that happened to meet 10-16% steal (docs/bench/two-runs.md, runs F and G).
// Runs M and N set aside rounds read on a slow host and made them up at the end, after waiting up
// to 60 s before each round for the host to speed up: the waits took 10 minutes of each run and
// rarely ended with a faster host, and a figure taken from a bench's one fast round stood against
// the other run's three slow ones (address parsing, 33% apart). Every round now counts.
for (let round = 0; round < rounds; round++) {
  for (const name of names) await runRound(name, round, `round ${round + 1} of ${rounds}`);
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
function runChild(name: string, round: number): Promise<Record<string, unknown>> {
  const flags = [
    ...(quick ? ['--quick'] : []),
    ...(opts.runs ? ['--runs', String(opts.runs)] : []),
    '--rounds',
    String(rounds),
    '--round',
    String(round),
  ];
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

/** One round of one bench in a fresh process, with the host's speed read before and during it. */
async function runRound(name: string, round: number, label: string): Promise<void> {
  // Without --noisy, each bench starts once the machine is quiet again (the previous bench's
  // processes gone, PostgreSQL's dirty pages flushed), so it does not pay for its predecessor.
  // --quick waits at most 2 s: a smoke test on a busy machine should not wait for it to go quiet.
  if (!noisy) (settled[name] ??= []).push(await settle(quick ? 2 : 30));
  (probePerRound[name] ??= []).push(hostProbe());
  process.stderr.write(`bench: ${name} (${label})...\n`);
  const ticks = cpuTicks();
  const b0 = performance.now();
  const host = sampleHost();
  try {
    (perRound[name] ??= []).push(await runChild(name, round));
    const reading = host.stop();
    (speedPerRound[name] ??= []).push(reading.sort);
    (memoryPerRound[name] ??= []).push(reading.memory);
  } catch (err) {
    host.stop();
    results[name] = { error: (err as Error).message };
    process.exitCode = 1;
  }
  (stealPerRound[name] ??= []).push(stealShare(ticks, cpuTicks()));
  (secondsPerRound[name] ??= []).push(Math.round((performance.now() - b0) / 1000));
  merge(name);
  save(); // after every bench, so a long run interrupted late keeps what it measured
}

/** A bench's figures over the rounds so far: as measured for one, else median, min and max per figure. */
function merge(name: string): void {
  if ((results[name] as { error?: string } | undefined)?.error) return;
  const done = perRound[name]!;
  results[name] =
    done.length === 1 ? done[0] : { ...(summarise(done) as Record<string, unknown>), suite_rounds: done.length };
  inRound[name] = { per_round: speedPerRound[name]!, memory_per_round: memoryPerRound[name]! };
  steal[name] = summarise(stealPerRound[name]!);
  probe[name] = summarise(probePerRound[name]!);
  seconds[name] = secondsPerRound[name]!.reduce((x, y) => x + y, 0);
}

function save(): void {
  results.duration_seconds = Math.round((performance.now() - t0) / 1000);
  mkdirSync(new URL('./out/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./out/results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
}
