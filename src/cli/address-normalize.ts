import { createInterface } from 'node:readline';
import { normalizeAddress } from '../address/index.ts';

export interface AddressCliIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** `hearth address normalize`: one address per input line, one JSON object per output line. */
export async function runAddressNormalize(io: AddressCliIo): Promise<number> {
  const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const n = normalizeAddress(line.trim());
    io.stdout.write(
      `${JSON.stringify({ raw: line, components: n.components, key: n.key, standardized: n.standardized })}\n`,
    );
  }
  return 0;
}
