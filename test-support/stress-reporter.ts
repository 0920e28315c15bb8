import type { TestEvent } from 'node:test/reporters';

/**
 * A `node --test` reporter for test-support/stress.ts: one JSON line per finished test or suite,
 * `{ file, path, status, duration_ms, error }`, where `path` is the suite names and the test
 * name (so `[sqlite]` and `[postgres]` halves are told apart). The runner reports `test:start`,
 * `test:pass` and `test:fail` in definition order, one file after another (as its spec reporter
 * relies on), so one stack by nesting level gives each path. `file` is where the test itself was
 * defined (a suite from describeEachDialect is defined in test-support/dialects.ts).
 */
export default async function* stressReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const stack: string[] = [];
  for await (const event of source) {
    if (event.type !== 'test:start' && event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const data = event.data as {
      name: string;
      nesting: number;
      file?: string;
      details?: { duration_ms?: number; error?: unknown; type?: string };
      skip?: unknown;
      todo?: unknown;
    };
    const file = data.file ?? '(unknown file)';
    if (event.type === 'test:start') {
      stack.length = data.nesting;
      stack[data.nesting] = data.name;
      continue;
    }
    const path = [...stack.slice(0, data.nesting), data.name];
    const status =
      event.type === 'test:fail'
        ? 'fail'
        : data.skip !== undefined && data.skip !== false
          ? 'skip'
          : data.todo !== undefined && data.todo !== false
            ? 'todo'
            : 'pass';
    const error = status === 'fail' ? describe(data.details?.error) : undefined;
    const kind = data.details?.type ?? 'test';
    yield `${JSON.stringify({ file, path, kind, status, duration_ms: data.details?.duration_ms ?? 0, error })}\n`;
  }
}

function describe(err: unknown): string {
  if (!err || typeof err !== 'object') return String(err);
  const e = err as { message?: string; cause?: unknown; failureType?: string };
  // node:test wraps the test's error: the cause is what the test threw.
  const cause = e.cause as { message?: string } | undefined;
  const text = cause?.message ?? e.message ?? String(err);
  return `${e.failureType ? `${e.failureType}: ` : ''}${text}`.slice(0, 2000);
}
