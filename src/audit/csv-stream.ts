import { open } from 'node:fs/promises';
import { parse } from 'csv-parse';
import { HearthError, isHearthError } from '../errors.ts';

/** Called now and then with bytes read so far and the file size (for a progress bar). */
export type ProgressFn = (file: string, bytesRead: number, totalBytes: number) => void;

export interface CsvReadOptions {
  onProgress?: ProgressFn | undefined;
}

/** csv-parse settings shared by the audit and its bench baseline (tolerant of BOM, ragged rows). */
export const CSV_OPTIONS = { bom: true, skip_empty_lines: true, relax_column_count: true, relax_quotes: true } as const;

/**
 * Streams a CSV file: `onHeader` gets the first row, `onRow` every later one as an array of raw
 * strings. Memory stays bounded by the parser's buffer. Read and parse failures become one-line
 * `invalid_input` errors naming the file (and the line where known).
 */
export async function streamCsv(
  file: string,
  onHeader: (header: string[]) => void,
  onRow: (row: string[]) => void,
  opts: CsvReadOptions = {},
): Promise<number> {
  const handle = await open(file).catch((err: NodeJS.ErrnoException) => {
    throw new HearthError('invalid_input', describeReadError(file, err));
  });
  const stat = await handle.stat();
  if (stat.isDirectory()) {
    await handle.close();
    throw new HearthError('invalid_input', `${file}: cannot read file (is a directory)`);
  }
  const input = handle.createReadStream({ highWaterMark: 1 << 20 });
  input.on('error', () => {});
  if (opts.onProgress) trackProgress(input, file, stat.size, opts.onProgress);
  const parser = input.pipe(parse(CSV_OPTIONS));
  let rows = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (rows++ === 0) onHeader(record);
      else onRow(record);
    }
  } catch (err) {
    if (isHearthError(err)) throw err;
    throw new HearthError('invalid_input', describeReadError(file, err as NodeJS.ErrnoException & { lines?: number }));
  } finally {
    input.destroy();
    await handle.close().catch(() => {});
  }
  if (rows === 0) throw new HearthError('invalid_input', `${file}: empty file (expected a header row)`);
  return rows - 1;
}

function trackProgress(input: NodeJS.ReadableStream, file: string, total: number, onProgress: ProgressFn): void {
  let read = 0;
  let last = 0;
  input.on('data', (chunk: Buffer) => {
    read += chunk.length;
    const now = Date.now();
    if (now - last > 200 || read >= total) {
      last = now;
      onProgress(file, read, total);
    }
  });
}

function describeReadError(file: string, err: NodeJS.ErrnoException & { lines?: number }): string {
  if (err.code === 'ENOENT') return `${file}: cannot read file (no such file)`;
  if (err.code === 'EACCES') return `${file}: cannot read file (permission denied)`;
  if (err.code === 'EISDIR') return `${file}: cannot read file (is a directory)`;
  const where = err.lines !== undefined ? `:${err.lines}` : '';
  return `${file}${where}: malformed CSV: ${err.message.split('\n')[0]}`;
}
