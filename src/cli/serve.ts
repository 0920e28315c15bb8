import { signatureHeaders } from '../connectors/registry.ts';
import { createLogger } from '../log.ts';
import { startHearth } from '../runtime.ts';
import { CONFIG_FLAGS, configFrom } from './config-flags.ts';
import { parseFlags, writeLine, type CliIo } from './io.ts';

const HELP = `Usage: hearth serve [--config FILE] [--db URL] [--host HOST] [--port PORT] [--no-workers] [--no-migrate]

Runs the API (/v1, documented at /docs), webhook ingress (/webhooks/<connector>), the inbox and
outbox workers, /metrics, /healthz, /readyz and the console (/).
  --config FILE   YAML or JSON config; \${ENV_VAR} is substituted
  --db URL        sqlite:PATH (default sqlite:./data/hearth.db) or postgres://...
  --no-workers    HTTP only (run workers in other processes; PostgreSQL)
  --no-migrate    do not apply migrations at start`;

export async function serveCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(argv, {
    ...CONFIG_FLAGS,
    host: { type: 'string' },
    port: { type: 'string' },
    'no-workers': { type: 'boolean' },
    'no-migrate': { type: 'boolean' },
  });
  if (values.help) return (writeLine(io.stdout, HELP), 0);
  const config = configFrom(values, io);
  const logger = createLogger(config.log.level, undefined, signatureHeaders(config.descriptors));
  const hearth = await startHearth(config, { logger, workers: !values['no-workers'], migrate: !values['no-migrate'] });
  logger.info(
    { url: hearth.url, database: hearth.hdb.display, connectors: Object.keys(hearth.connectors) },
    'hearth serving',
  );
  await waitForSignal();
  logger.info('shutting down');
  await hearth.close();
  return 0;
}

export function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
