/**
 * Runs the test suite N times with a process burning one CPU core beside it, and reports per test
 * how many runs failed (issue #18: a suite that passes every time, also on a busy machine).
 *
 *   npm run test:stress                          # 10 runs of the whole suite, one core burned
 *   npm run test:stress -- --runs 20 src/engine/crash.test.ts
 *   npm run test:stress -- --runs 3 --burners 0 --out /tmp/stress "src/flows/*.test.ts"
 *
 * Options: --runs N (default 10), --burners N (busy processes beside the suite, default 1),
 * --name-pattern RE (node --test --test-name-pattern, e.g. "\[postgres\]"), --out DIR (logs: per
 * run a spec log and a JSON-lines result file; default a new temp dir). Positional arguments are
 * test files or globs (default: the suite `npm test` runs). Prints a table of tests that failed,
 * then a JSON summary on the last line; exits 1 if any test failed in any run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');
const REPORTER = join(import.meta.dirname, 'stress-reporter.ts');
const SUITE = ['src/**/*.test.ts', 'sim/**/*.test.ts', 'test-support/**/*.test.ts'];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '10' },
    burners: { type: 'string', default: '1' },
    'name-pattern': { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(
    readFileSync(new URL(import.meta.url), 'utf8')
      .split('*/')[0]!
      .replace(/^\/\*\*\n/, '')
      .replace(/^ \*( |$)/gm, ''),
  );
  process.exit(0);
}
const runs = Number(values.runs);
const burners = Number(values.burners);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(burners) || burners < 0) {
  console.error('--runs must be a positive integer and --burners a non-negative integer');
  process.exit(2);
}
const files = positionals.length ? positionals : SUITE;
const out = values.out ? resolve(values.out) : mkdtempSync(join(tmpdir(), 'hearth-stress-'));
mkdirSync(out, { recursive: true });

interface Result {
  file: string;
  path: string[];
  kind: string;
  status: 'pass' | 'fail' | 'skip' | 'todo';
  duration_ms: number;
  error?: string;
}

interface RunSummary {
  run: number;
  exit_code: number | null;
  duration_s: number;
  tests: number;
  passed: number;
  failed: number;
  skipped: number;
}

const children = new Set<ChildProcess>();
const stopAll = () => {
  for (const c of children) c.kill('SIGKILL');
};
process.on('SIGINT', () => {
  stopAll();
  process.exit(130);
});
process.on('SIGTERM', () => {
  stopAll();
  process.exit(143);
});

// A busy loop in its own process: one core fully used for as long as the runs take.
const burnerProcs = Array.from({ length: burners }, () => {
  const c = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  children.add(c);
  return c;
});

function runSuite(run: number): Promise<{ code: number | null; duration_s: number }> {
  const jsonl = join(out, `run-${run}.jsonl`);
  const log = join(out, `run-${run}.log`);
  const args = [
    '--test',
    '--test-concurrency=2',
    '--test-timeout=120000',
    `--test-reporter=${REPORTER}`,
    `--test-reporter-destination=${jsonl}`,
    '--test-reporter=spec',
    `--test-reporter-destination=${log}`,
    ...(values['name-pattern'] ? [`--test-name-pattern=${values['name-pattern']}`] : []),
    ...files,
  ];
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    children.add(child);
    child.on('exit', (code) => {
      children.delete(child);
      done({ code, duration_s: Math.round((Date.now() - started) / 100) / 10 });
    });
  });
}

function readResults(run: number): Result[] {
  let text = '';
  try {
    text = readFileSync(join(out, `run-${run}.jsonl`), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Result);
}

const key = (r: Result) =>
  `${r.file.startsWith(ROOT) ? r.file.slice(ROOT.length + 1) : r.file} :: ${r.path.join(' > ')}`;
const perTest = new Map<string, { runs: number; failed: number; errors: string[] }>();
const summaries: RunSummary[] = [];
console.log(`# hearth stress: ${runs} run(s) of ${files.join(' ')} with ${burners} CPU burner(s); logs in ${out}`);
try {
  for (let run = 1; run <= runs; run++) {
    const { code, duration_s } = await runSuite(run);
    const results = readResults(run);
    // Tests are counted; a suite only when it fails itself (a hook), not because a test in it did.
    const counted = results.filter(
      (r) => r.kind !== 'suite' || (r.status === 'fail' && !r.error?.startsWith('subtestsFailed')),
    );
    for (const r of counted) {
      if (r.status === 'skip' || r.status === 'todo') continue;
      const k = key(r);
      const entry = perTest.get(k) ?? { runs: 0, failed: 0, errors: [] };
      entry.runs++;
      if (r.status === 'fail') {
        entry.failed++;
        entry.errors.push(`run ${run}: ${r.error ?? '(no message)'}`);
      }
      perTest.set(k, entry);
    }
    const tests = counted.filter((r) => r.kind !== 'suite');
    const s: RunSummary = {
      run,
      exit_code: code,
      duration_s,
      tests: tests.length,
      passed: tests.filter((r) => r.status === 'pass').length,
      failed: counted.filter((r) => r.status === 'fail').length,
      skipped: tests.filter((r) => r.status === 'skip' || r.status === 'todo').length,
    };
    summaries.push(s);
    console.log(
      `# run ${run}/${runs}: exit ${code}, ${s.tests} tests, ${s.passed} passed, ` +
        `${s.failed} failed, ${s.skipped} skipped, ${duration_s} s`,
    );
  }
} finally {
  for (const c of burnerProcs) c.kill('SIGKILL');
}

const failing = [...perTest.entries()]
  .filter(([, v]) => v.failed > 0)
  .sort((a, b) => b[1].failed - a[1].failed || a[0].localeCompare(b[0]));
// A run that exits non-zero with no failing test reported (the runner itself broke) is a failure too.
const brokenRuns = summaries.filter((s) => s.exit_code !== 0 && s.failed === 0).map((s) => s.run);
console.log('');
if (failing.length === 0) console.log(`# no test failed in ${runs} run(s)`);
else {
  console.log('# failed runs  test');
  for (const [k, v] of failing) {
    console.log(`  ${String(v.failed).padStart(3)}/${v.runs}  ${k}`);
    for (const e of v.errors.slice(0, 3)) console.log(`           ${e.split('\n')[0]!.slice(0, 300)}`);
  }
}
if (brokenRuns.length) console.log(`# runs that exited non-zero without a failing test: ${brokenRuns.join(', ')}`);

const summary = {
  runs,
  burners,
  files,
  out,
  tests_per_run: summaries.map((s) => s.tests),
  duration_s: summaries.map((s) => s.duration_s),
  failed_runs: summaries.filter((s) => s.exit_code !== 0).length,
  failures: Object.fromEntries(failing.map(([k, v]) => [k, { failed: v.failed, runs: v.runs, errors: v.errors }])),
  broken_runs: brokenRuns,
};
writeFileSync(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
console.log(JSON.stringify(summary));
process.exit(failing.length || brokenRuns.length ? 1 : 0);
