import { loadConfig, type HearthConfig } from '../config/loader.ts';
import { HearthError } from '../errors.ts';
import type { CliIo } from './io.ts';

/** Flags every command that opens the database understands. */
export const CONFIG_FLAGS = {
  config: { type: 'string' },
  db: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function configFrom(
  values: {
    config?: string | undefined;
    db?: string | undefined;
    host?: string | undefined;
    port?: string | undefined;
  },
  io: CliIo,
): HearthConfig {
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536))
    throw new HearthError('invalid_input', `--port must be a port number (got "${values.port}")`);
  return loadConfig({ file: values.config, overrides: { database: values.db, host: values.host, port }, env: io.env });
}
