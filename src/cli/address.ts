import { accessSync, constants } from 'node:fs';
import { runAddressNormalize } from './address-normalize.ts';
import { HearthError } from '../errors.ts';
import { parseFlags, writeLine, type CliIo } from './io.ts';

const HELP = `Usage: hearth address normalize [FILE ...] [--json | --csv]

Reads one free-text US address per line (from the files, or stdin) and writes one line per input
line, in order, so output lines match input lines (a blank line in is a blank line out):
  --json (default)  {"raw": ..., "components": {...}, "key": ..., "standardized": ...}
  --csv             raw,key,standardized with a header row
Two addresses have the same "key" exactly when they are the same delivery point (USPS
Publication 28 normalisation).`;

export async function addressCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' }, csv: { type: 'boolean' } },
    true,
  );
  const [sub, ...files] = positionals;
  if (values.help || !sub) return (writeLine(values.help ? io.stdout : io.stderr, HELP), values.help ? 0 : 2);
  if (sub !== 'normalize') throw new HearthError('invalid_input', `unknown address subcommand "${sub}" (normalize)`);
  if (values.json && values.csv) throw new HearthError('invalid_input', 'choose one of --json and --csv');
  for (const f of files) {
    try {
      accessSync(f, constants.R_OK);
    } catch {
      throw new HearthError('invalid_input', `cannot read ${f} (check the path)`);
    }
  }
  return runAddressNormalize(io, files, values.csv ? 'csv' : 'json');
}
