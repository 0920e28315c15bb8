import { runMatchCommand } from '../identity/cli.ts';
import type { CliIo } from './io.ts';

export function matchCommand(argv: string[], io: CliIo): Promise<number> {
  return runMatchCommand(argv, { stdout: io.stdout, stderr: io.stderr, isTTY: io.isTTY });
}
