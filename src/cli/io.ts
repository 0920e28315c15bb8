import { parseArgs, type ParseArgsConfig } from 'node:util';
import { HearthError } from '../errors.ts';

export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
  isTTY: boolean;
}

export type Command = (argv: string[], io: CliIo) => Promise<number>;

/** parseArgs with Hearth's error style: an unknown flag is one clear line, not a stack trace. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new HearthError('invalid_input', (err as Error).message.split('\n')[0]!.replace(/^TypeError \[\w+\]: /, ''));
  }
}

export function writeLine(stream: NodeJS.WritableStream, line: string): void {
  stream.write(`${line}\n`);
}
