import { readFileSync } from 'node:fs';

/**
 * `node bench/compare.ts A.json B.json [--tolerance 0.2]`: sets two bench results side by side and
 * checks that they agree. Compared are every rate (a key ending in `per_second`, `per_s` or
 * `rows_per_s`) and every lag p50 (`p50` under a key with `lag` or `visible` in its path), taking
 * the median where a bench repeated its runs. Agreement is |a − b| / max(a, b) <= tolerance.
 * Exits 1 when a figure disagrees, so "two runs agree within 20%" is a command, not a claim.
 *
 * Cold-start lags (a path with `cold_start`: a fresh process's first seconds, JIT and first
 * connections, while the backlog they cause drains) are compared and printed with their own count
 * but do not decide the exit code: their p50 falls on the edge between backlog and steady state, so
 * it moved 36-308 ms between the rounds of one idle run (H). The steady-state lags decide.
 */
type Tree = { [key: string]: unknown };

export interface Comparison {
  path: string;
  a: number;
  b: number;
  difference: number;
  agrees: boolean;
  /** A cold-start lag: printed and counted apart, not part of the verdict. */
  coldStart: boolean;
}

const RATE = /(per_second|per_s|rows_per_s)$/;

/** The figure at a leaf: a number, or the median of a {median, min, max} summary. */
function value(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && 'median' in v && typeof (v as Tree).median === 'number')
    return (v as { median: number }).median;
  return undefined;
}

function isCompared(path: string[]): boolean {
  const key = path.at(-1)!;
  if (/(^|_)rate_per_second$/.test(key)) return false; // the offered load, an input
  if (RATE.test(key)) return true;
  return key === 'p50' && path.some((p) => /lag|visible/.test(p));
}

/** Every compared figure of a results tree, by dotted path. */
export function figures(tree: unknown, path: string[] = [], out = new Map<string, number>()): Map<string, number> {
  if (!tree || typeof tree !== 'object' || Array.isArray(tree)) return out;
  for (const [key, v] of Object.entries(tree as Tree)) {
    const at = [...path, key];
    const n = isCompared(at) ? value(v) : undefined;
    // A compared key holding anything else (a summary of summaries, once) must not drop out silently.
    if (isCompared(at) && n === undefined && v && typeof v === 'object' && 'median' in v)
      throw new Error(`${at.join('.')}: neither a number nor a {median, min, max} summary`);
    if (n !== undefined) out.set(at.join('.'), n);
    else if (!(v && typeof v === 'object' && 'median' in v)) figures(v, at, out);
  }
  return out;
}

export function compare(a: unknown, b: unknown, tolerance: number): Comparison[] {
  const fa = figures(a);
  const fb = figures(b);
  const rows: Comparison[] = [];
  for (const [path, x] of fa) {
    const y = fb.get(path);
    if (y === undefined) continue;
    const difference = Math.max(x, y) === 0 ? 0 : Math.abs(x - y) / Math.max(x, y);
    rows.push({
      path,
      a: x,
      b: y,
      difference,
      agrees: difference <= tolerance,
      coldStart: path.includes('cold_start'),
    });
  }
  return rows;
}

function main(): void {
  const args = process.argv.slice(2);
  const tolAt = args.indexOf('--tolerance');
  const tolerance = tolAt >= 0 ? Number(args[tolAt + 1]) : 0.2;
  const files = args.filter((a, i) => !a.startsWith('--') && (tolAt < 0 || i !== tolAt + 1));
  if (files.length !== 2 || !(tolerance >= 0)) {
    process.stderr.write('usage: node bench/compare.ts A.json B.json [--tolerance 0.2]\n');
    process.exit(2);
  }
  const [a, b] = files.map((f) => JSON.parse(readFileSync(f!, 'utf8')) as Tree);
  const rows = compare(a, b, tolerance);
  const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1 });
  console.log(`| figure | run A | run B | difference |\n|---|---|---|---|`);
  for (const r of rows)
    console.log(
      `| ${r.path} | ${fmt(r.a)} | ${fmt(r.b)} | ${(r.difference * 100).toFixed(1)}%${r.agrees ? '' : ' ✗'} |`,
    );
  const steady = rows.filter((r) => !r.coldStart);
  const cold = rows.filter((r) => r.coldStart);
  const bad = steady.filter((r) => !r.agrees);
  console.log(
    `\n${steady.length - bad.length} of ${steady.length} figures agree within ${tolerance * 100}%` +
      `; cold-start lags, apart: ${cold.filter((r) => r.agrees).length} of ${cold.length}` +
      ` (load average at start: A ${JSON.stringify(a!.load_average_at_start)},` +
      ` B ${JSON.stringify(b!.load_average_at_start)})`,
  );
  const [pa, pb] = [a!.host_probe_cpu_ms, b!.host_probe_cpu_ms] as (Tree | undefined)[];
  if (pa && pb) {
    const each = Object.keys(pa).map((k) => `${k} ${value(pa[k])} / ${value(pb[k])}`);
    console.log(`host probe, CPU ms of the same fixed work before each bench (A / B): ${each.join(', ')}`);
  }
  printRoundSpeeds(a!, b!);
  printHostCorrected(steady, a!, b!, tolerance);
  if (bad.length > 0) process.exitCode = 1;
}

/** `counted`: the rounds that made the figure, in runs M and N only (later runs count every round). */
type InRound = Record<string, { per_round: number[]; counted?: number[]; memory_per_round?: number[] }>;

const countedOf = (r: InRound[string]): number[] => r.counted ?? r.per_round.map((_, i) => i);

/** The median host reading over a bench's rounds that count (CPU ms of the fixed sort), if recorded. */
function speedOf(tree: Tree, bench: string): number | undefined {
  const r = (tree.host_speed_in_round as InRound | undefined)?.[bench];
  if (!r || countedOf(r).length === 0) return undefined;
  const used = countedOf(r)
    .map((i) => r.per_round[i]!)
    .sort((x, y) => x - y);
  return used[Math.floor(used.length / 2)];
}

/**
 * A diagnostic, not the verdict: the steady figures again with run A's scaled by the ratio of the two
 * runs' host readings for that bench (a rate by speedA / speedB, a lag by its inverse), as if both
 * had run on the same host. If the figures apart agree once corrected, the host moved, not Hearth.
 */
function printHostCorrected(rows: Comparison[], a: Tree, b: Tree, tolerance: number): void {
  let compared = 0;
  let agree = 0;
  for (const r of rows) {
    const bench = r.path.split('.')[0]!;
    const [sa, sb] = [speedOf(a, bench), speedOf(b, bench)];
    if (sa === undefined || sb === undefined) continue;
    const corrected = r.path.endsWith('.p50') ? (r.a * sb) / sa : (r.a * sa) / sb;
    compared++;
    if (Math.abs(corrected - r.b) / Math.max(corrected, r.b) <= tolerance) agree++;
  }
  if (compared > 0)
    console.log(
      `diagnostic, not the verdict: corrected for the host speed read during the rounds, ` +
        `${agree} of ${compared} steady figures agree within ${tolerance * 100}%`,
    );
}

/** Per bench, the host's speed during the rounds that count, and how many were set aside (run.ts). */
function printRoundSpeeds(a: Tree, b: Tree): void {
  const [ra, rb] = [a.host_speed_in_round, b.host_speed_in_round] as (InRound | undefined)[];
  if (!ra || !rb) return;
  const of = (t: Tree, r: InRound, k: string) => {
    const aside = r[k] ? r[k].per_round.length - countedOf(r[k]).length : 0;
    return `${speedOf(t, k) ?? '-'}${aside ? ` (${aside} set aside)` : ''}`;
  };
  const each = Object.keys(ra).map((k) => `${k} ${of(a, ra, k)} / ${of(b, rb, k)}`);
  console.log(`host speed during the rounds that count, CPU ms of a fixed sort (A / B): ${each.join(', ')}`);
  const walk = (r: InRound, k: string) => {
    const m = r[k]?.memory_per_round;
    return m ? [...m].sort((x, y) => x - y)[Math.floor(m.length / 2)] : '-';
  };
  const walks = Object.keys(ra).map((k) => `${k} ${walk(ra, k)} / ${walk(rb, k)}`);
  if (Object.values(ra).some((r) => r.memory_per_round))
    console.log(`memory latency during the rounds, CPU ms of a 64 MB walk (A / B, from run Q on): ${walks.join(', ')}`);
}

if (import.meta.main) main();
