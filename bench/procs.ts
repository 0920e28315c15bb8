import { type ChildProcess, fork, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../src/cli/free-port.ts';
import pg from 'pg';
import { ADMIN_URL } from './db-fixtures.ts';

/**
 * Process plumbing for the benches that send load: Hearth started as a user starts it
 * (`node src/main.ts serve --config FILE`), the simulators and the load generator each in their own
 * process, CPU time read from /proc/<pid>/stat, and median-of-N summaries.
 */

const ROOT = new URL('../', import.meta.url).pathname;
const TICKS_PER_SECOND = 100; // USER_HZ (getconf CLK_TCK) on Linux.

/**
 * Wall-clock time in fractional ms since the epoch, comparable across processes on one machine
 * (timeOrigin is the process's start on the system clock, now() the monotonic time since).
 */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * A neighbour process burning one core until stop(): pinned to CPU 0 with taskset where it
 * exists (Linux), so Hearth competes for that core as it would beside a busy co-tenant.
 */
export function burnOneCore(): { pinned: boolean; stop(): void } {
  const burn = [process.execPath, '-e', 'for (;;) {}'];
  const pinned = existsSync('/usr/bin/taskset');
  const proc = pinned
    ? spawn('/usr/bin/taskset', ['-c', '0', ...burn], { stdio: 'ignore' })
    : spawn(burn[0]!, burn.slice(1), { stdio: 'ignore' });
  return { pinned, stop: () => void proc.kill() };
}

/** CPU time (user + system) a live process has used so far, in ms; NaN where /proc is absent. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/**
 * CPU time of a live process in ms with nanosecond resolution: the sum over its threads of
 * /proc/<pid>/task/<tid>/schedstat (time on CPU, ns), where /proc/<pid>/stat counts 10 ms ticks.
 * Threads that exited between two readings drop out of the later sum, so for a window over which
 * threads come and go it can undercount; Node's threads (main, libuv pool, V8 helpers) persist.
 * Falls back to cpuMs() where schedstat is absent.
 */
export function cpuMsFine(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`))
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    return ns / 1e6;
  } catch {
    return cpuMs(pid);
  }
}

export const loadAverage = (): number[] => loadavg().map((n) => Number(n.toFixed(2)));

/** A forked helper process that answers `{ id, cmd, args }` messages with `{ id, result | error }`. */
export interface Child {
  pid: number;
  call<T>(cmd: string, args?: unknown): Promise<T>;
  stop(): Promise<void>;
}

export function forkChild(script: string): Child {
  const proc = fork(join(ROOT, script), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 0;
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  proc.on('message', (m: { id: number; result?: unknown; error?: string }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error) w?.reject(new Error(m.error));
    else w?.resolve(m.result);
  });
  proc.on('exit', () => {
    for (const w of waiting.values()) w.reject(new Error(`${script} exited`));
  });
  return {
    pid: proc.pid!,
    call: <T>(cmd: string, args?: unknown) =>
      new Promise<T>((resolve, reject) => {
        const id = next++;
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
        proc.send({ id, cmd, args });
      }),
    stop: () => stopProcess(proc),
  };
}

/** The child side of forkChild: dispatches messages to handlers. */
export function serveParent(handlers: Record<string, (args: never) => unknown>): void {
  process.on('message', async (m: { id: number; cmd: string; args: never }) => {
    try {
      const handler = handlers[m.cmd];
      if (!handler) throw new Error(`unknown command ${m.cmd}`);
      process.send!({ id: m.id, result: await handler(m.args) });
    } catch (err) {
      process.send!({ id: m.id, error: (err as Error).message });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    proc.once('exit', () => r());
    proc.kill('SIGTERM');
  });
}

export interface HearthProcess {
  url: string;
  pid: number;
  dbPath: string;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** Writes the config to a file and runs `node src/main.ts serve --config FILE`, as a user would. */
export async function startHearthProcess(
  config: Record<string, unknown>,
  flags: string[] = [],
): Promise<HearthProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-'));
  const port = await freePort();
  const dbPath = join(dir, 'hearth.db');
  const file = join(dir, 'hearth.json');
  const full = {
    database: `sqlite:${dbPath}`,
    log: { level: 'error' },
    ...config,
    server: { host: '127.0.0.1', port },
  };
  writeFileSync(file, JSON.stringify(full, null, 2));
  // HEARTH_BENCH_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) profiles Hearth in a bench run.
  const nodeArgs = process.env.HEARTH_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const proc = spawn(process.execPath, [...nodeArgs, 'src/main.ts', 'serve', '--config', file, ...flags], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(url, proc);
  return {
    url,
    pid: proc.pid!,
    dbPath,
    metrics: async () => (await fetch(`${url}/metrics`)).text(),
    stop: async () => {
      await stopProcess(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForHealth(url: string, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`hearth serve exited with ${proc.exitCode}`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('hearth serve did not answer /healthz within 60 s');
}

/** A Prometheus histogram's cumulative buckets, sum and count, read from /metrics text. */
function parseHistogram(text: string, name: string, label: string) {
  const buckets: [number, number][] = [];
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || !line.includes(label)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith(`${name}_bucket`)) buckets.push([Number(/le="([^"]+)"/.exec(line)![1]), value]);
    else if (line.startsWith(`${name}_sum`)) sum = value;
    else if (line.startsWith(`${name}_count`)) count = value;
  }
  return { buckets, sum, count };
}

/**
 * Quantile of a Prometheus histogram (the upper bound of the bucket holding it), with count and
 * mean; with `before`, of what was observed between the two readings only.
 */
export function histogram(text: string, name: string, label: string, before?: string): Record<string, number> {
  const h = parseHistogram(text, name, label);
  if (before !== undefined) {
    const b = parseHistogram(before, name, label);
    h.buckets = h.buckets.map(([le, n], i) => [le, n - (b.buckets[i]?.[1] ?? 0)]);
    h.sum -= b.sum;
    h.count -= b.count;
  }
  const { buckets, sum, count } = h;
  const upTo = (q: number) => (buckets.find(([, n]) => n >= q * count)?.[0] ?? NaN) * 1000;
  return {
    count,
    mean_ms: round(count ? (sum / count) * 1000 : NaN),
    p50_at_most_ms: upTo(0.5),
    p99_at_most_ms: upTo(0.99),
  };
}

/** Runs fn n times; the summary keeps values equal across runs and turns the others into median/min/max. */
export async function repeated(
  n: number,
  fn: (run: number) => Promise<Record<string, unknown>>,
): Promise<Record<string, unknown>> {
  const runs: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) runs.push({ load_average: loadAverage(), ...(await fn(i)) });
  return { runs: n, ...(summarise(runs) as Record<string, unknown>) };
}

/**
 * Runs fn n times and keeps the run whose `key` (a number, e.g. elapsed_ms) is the median, with the
 * key's min and max across runs: for results with arrays (calibration tables) that summarise()
 * would repeat per run.
 */
export async function medianRun(
  n: number,
  key: string,
  fn: () => Promise<Record<string, unknown>>,
): Promise<Record<string, unknown>> {
  const runs: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) runs.push(await fn());
  runs.sort((a, b) => (a[key] as number) - (b[key] as number));
  const values = runs.map((r) => r[key] as number);
  return { ...runs[Math.floor(n / 2)], runs: n, [`${key}_min`]: values[0], [`${key}_max`]: values.at(-1) };
}

type Summary = { median: number; min: number; max: number };
const isSummary = (v: unknown): v is Summary =>
  !!v &&
  typeof v === 'object' &&
  ['median', 'min', 'max'].every((k) => typeof (v as Summary)[k as keyof Summary] === 'number');

/**
 * Values that are already summaries (a bench that repeats its windows inside a round), perhaps
 * beside plain numbers (a round whose windows all read the same): median of the medians, the
 * lowest min and the highest max, so a merged figure stays one {median, min, max}.
 */
function mergeSummaries(values: (Summary | number)[]): Summary {
  const s = values.map((v) => (typeof v === 'number' ? { median: v, min: v, max: v } : v));
  const medians = s.map((x) => x.median).sort((a, b) => a - b);
  return {
    median: medians[Math.floor(medians.length / 2)]!,
    min: Math.min(...s.map((x) => x.min)),
    max: Math.max(...s.map((x) => x.max)),
  };
}

export function summarise(all: unknown[]): unknown {
  // A part some rounds leave out (backfill's PostgreSQL part runs in the first round only) is
  // summarised over the rounds that have it.
  const values = all.filter((v) => v !== undefined);
  const first = values[0];
  const numeric = values.every((v) => typeof v === 'number' || isSummary(v));
  if (numeric && values.some(isSummary)) return mergeSummaries(values as (Summary | number)[]);
  if (typeof first === 'number') {
    const nums = (values as number[]).slice().sort((a, b) => a - b);
    if (nums[0] === nums.at(-1)) return first;
    return { median: nums[Math.floor(nums.length / 2)], min: nums[0], max: nums.at(-1) };
  }
  if (Array.isArray(first)) return values;
  if (first && typeof first === 'object') {
    const out: Record<string, unknown> = {};
    const keys = new Set(values.flatMap((v) => Object.keys(v as object)));
    for (const key of keys) out[key] = summarise(values.map((v) => (v as Record<string, unknown>)[key]));
    return out;
  }
  return first;
}

export const round = (n: number, digits = 1): number => Number(n.toFixed(digits));

/** CPU used by each process between two readings, in ms, and per event. */
export function cpuReport(before: Record<string, number>, after: Record<string, number>, events: number) {
  const out: Record<string, { ms: number; ms_per_event: number }> = {};
  for (const key of Object.keys(before)) {
    const ms = after[key]! - before[key]!;
    out[key] = { ms: round(ms, 0), ms_per_event: round(ms / events, 3) };
  }
  return out;
}

/** The machine's CPU ticks so far from /proc/stat (Linux): idle (incl. iowait), steal, total; null elsewhere. */
export function cpuTicks(): { idle: number; steal: number; total: number } | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { idle: f[3]! + f[4]!, steal: f[7] ?? 0, total: f.reduce((a, b) => a + b, 0) };
  } catch {
    return null;
  }
}

/**
 * Share of the CPU time between two cpuTicks() readings that the hypervisor gave to other guests
 * (steal): a bench that ran while the host was busy reads slower for a reason outside this machine.
 */
export function stealShare(a: ReturnType<typeof cpuTicks>, b: ReturnType<typeof cpuTicks>): number | null {
  if (!a || !b || b.total === a.total) return null;
  return round((b.steal - a.steal) / (b.total - a.total), 3);
}

/** Busy share of all CPUs over `ms`, from /proc/stat (Linux); null elsewhere. */
async function cpuBusy(ms: number): Promise<number | null> {
  const a = cpuTicks();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTicks();
  if (!a || !b || b.total === a.total) return null;
  return 1 - (b.idle - a.idle) / (b.total - a.total);
}

/**
 * Waits (at most `maxSeconds`) until the machine is quiet: CPUs under 10% busy over a second,
 * after asking PostgreSQL (when reachable) to flush its dirty pages now rather than mid-bench.
 */
export async function settle(maxSeconds = 30): Promise<{ waited_s: number; cpu_busy: number | null }> {
  const t0 = performance.now();
  const pgClient = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await pgClient.connect();
    await pgClient.query('CHECKPOINT');
  } catch {
    // No PostgreSQL: the benches that need it skip themselves.
  } finally {
    await pgClient.end().catch(() => {});
  }
  let busy = await cpuBusy(1000);
  while (busy !== null && busy > 0.1 && performance.now() - t0 < maxSeconds * 1000) busy = await cpuBusy(1000);
  return { waited_s: round((performance.now() - t0) / 1000), cpu_busy: busy === null ? null : round(busy, 2) };
}

/**
 * CPU milliseconds a fixed piece of pure JavaScript takes (sorting 200,000 pseudo-random numbers
 * with a JavaScript comparator; median of 5 after one warm-up). Same work, same code: when it moves
 * between runs, the host's speed moved. On this VM the hypervisor reported no steal time while the
 * same CSV parse took 40% more CPU time from one run to the next (docs/bench/two-runs.md, H and I).
 */
export function hostProbe(): number {
  sortCpuMs(200_000);
  const times = Array.from({ length: 5 }, () => sortCpuMs(200_000)).sort((p, q) => p - q);
  return round(times[2]!, 1);
}

let chain: Int32Array | undefined;

/**
 * CPU ms of `steps` dependent reads through a random cycle over 64 MB (16M int32, Sattolo's
 * shuffle, built once): each read waits on the last, so the figure is memory latency, which a
 * neighbour thrashing the host's cache or memory bus raises while a small sort stays the same.
 */
export function memoryCpuMs(steps = 60_000): number {
  chain ??= randomCycle(16 * 1024 * 1024);
  const c0 = process.cpuUsage();
  let i = 0;
  for (let k = 0; k < steps; k++) i = chain[i]!;
  const c = process.cpuUsage(c0);
  // `i` is used so the loop cannot be dropped.
  return (c.user + c.system) / 1000 + (i < 0 ? 1 : 0);
}

function randomCycle(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  let x = 12345;
  for (let i = n - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const j = x % i;
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

/** CPU ms to sort `n` pseudo-random numbers with a JavaScript comparator: the probes' fixed work. */
export function sortCpuMs(n: number): number {
  let x = 12345;
  const a: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    a.push(x);
  }
  const c0 = process.cpuUsage();
  a.sort((p, q) => p - q);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}
