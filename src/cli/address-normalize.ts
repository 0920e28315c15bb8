import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { stringify } from 'csv-stringify/sync';
import { normalizeAddress } from '../address/index.ts';

export interface AddressCliIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export type AddressFormat = 'json' | 'csv';

const CSV_COLUMNS = ['raw', 'key', 'standardized', 'valid', 'reason'] as const;

/**
 * `hearth address normalize`: one address per input line (stdin, or each file in turn), one output
 * line per input line, so outputs line up with inputs: a blank line in is a blank line out.
 */
export async function runAddressNormalize(
  io: AddressCliIo,
  files: string[] = [],
  format: AddressFormat = 'json',
): Promise<number> {
  if (format === 'csv') io.stdout.write(stringify([[...CSV_COLUMNS]]));
  const inputs =
    files.length > 0 ? files.map((f) => () => createReadStream(f, { encoding: 'utf8' })) : [() => io.stdin];
  for (const open of inputs) {
    const lines = createInterface({ input: open(), crlfDelay: Infinity });
    for await (const line of lines) io.stdout.write(formatLine(line, format));
  }
  return 0;
}

function formatLine(line: string, format: AddressFormat): string {
  if (!line.trim()) return format === 'csv' ? stringify([['', '', '', '', '']]) : '\n';
  const n = normalizeAddress(line.trim());
  const reason = n.reason ?? null;
  if (format === 'csv') return stringify([[line, n.key, n.standardized, String(n.valid), reason ?? '']]);
  const out = { raw: line, components: n.components, key: n.key, standardized: n.standardized, valid: n.valid, reason };
  return `${JSON.stringify(out)}\n`;
}
