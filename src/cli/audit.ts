import { runAuditCommand } from '../audit/cli.ts';
import type { CliIo } from './io.ts';

export function auditCommand(argv: string[], io: CliIo): Promise<number> {
  return runAuditCommand(argv, { stdout: io.stdout, stderr: io.stderr, isTTY: io.isTTY });
}
