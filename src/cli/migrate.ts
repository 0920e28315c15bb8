import { openDatabase } from '../db/database.ts';
import { migrateWithData } from '../flows/migrate.ts';
import { CONFIG_FLAGS, configFrom } from './config-flags.ts';
import { parseFlags, writeLine, type CliIo } from './io.ts';

const HELP = `Usage: hearth migrate [--config FILE] [--db URL] [--json]

Applies pending database migrations (safe to run from several processes: the migrator locks).`;

export async function migrateCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(argv, { ...CONFIG_FLAGS, json: { type: 'boolean' } });
  if (values.help) return (writeLine(io.stdout, HELP), 0);
  const config = configFrom(values, io);
  const hdb = openDatabase(config.database);
  try {
    const { applied } = await migrateWithData(hdb.db);
    if (values.json) writeLine(io.stdout, JSON.stringify({ database: hdb.display, applied }));
    else
      writeLine(
        io.stdout,
        applied.length ? `applied ${applied.join(', ')} to ${hdb.display}` : `${hdb.display} is up to date`,
      );
    return 0;
  } finally {
    await hdb.close();
  }
}
