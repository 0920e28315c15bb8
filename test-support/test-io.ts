import { PassThrough } from 'node:stream';
import type { CliIo } from '../src/cli/io.ts';

/** A CliIo for tests: stdin holds `stdinText`; what the command writes is read back with out()/err(). */
export function captureIo(
  stdinText = '',
  env: Record<string, string | undefined> = {},
): { io: CliIo; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  const stdin = new PassThrough();
  stdin.end(stdinText);
  return { io: { stdin, stdout, stderr, env, isTTY: false }, out: () => out, err: () => err };
}
