import { runAddressNormalize } from './address-normalize.ts';
import { HearthError } from '../errors.ts';
import { writeLine, type CliIo } from './io.ts';

const HELP = `Usage: hearth address normalize < addresses.txt

Reads one free-text US address per line and writes one JSON object per line:
{"raw": ..., "components": {...}, "key": ..., "standardized": ...}. Two addresses have the same
"key" exactly when they are the same delivery point (USPS Publication 28 normalisation).`;

export async function addressCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h' || rest.includes('--help'))
    return (writeLine(sub ? io.stdout : io.stderr, HELP), sub ? 0 : 2);
  if (sub !== 'normalize') throw new HearthError('invalid_input', `unknown address subcommand "${sub}" (normalize)`);
  if (rest.length > 0)
    throw new HearthError('invalid_input', `address normalize takes no arguments (got "${rest[0]}")`);
  return runAddressNormalize({ stdin: io.stdin, stdout: io.stdout, stderr: io.stderr });
}
