import { openDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import type { ApiRole } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { createApiKey, ROLES } from '../http/auth.ts';
import { CONFIG_FLAGS, configFrom } from './config-flags.ts';
import { parseFlags, writeLine, type CliIo } from './io.ts';
import { DATA_KEY_HELP, dataKeysCommand } from './data-keys.ts';

const HELP = `Usage:
  hearth keys create --name NAME --role admin|operator|readonly [--json]
  hearth keys list [--json]
${DATA_KEY_HELP}
Common: [--config FILE] [--db URL]
An API key is printed once; only its SHA-256 hash is stored.`;

export async function keysCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    {
      ...CONFIG_FLAGS,
      name: { type: 'string' },
      role: { type: 'string' },
      json: { type: 'boolean' },
      batch: { type: 'string' },
    },
    true,
  );
  const sub = positionals[0];
  if (values.help || !sub) return (writeLine(values.help ? io.stdout : io.stderr, HELP), values.help ? 0 : 2);
  if (sub === 'rotate-data-key' || sub === 'status') return dataKeysCommand(sub, configFrom(values, io), values, io);
  if (sub !== 'create' && sub !== 'list')
    throw new HearthError(
      'invalid_input',
      `unknown keys subcommand "${sub}" (create, list, rotate-data-key or status)`,
    );
  if (sub === 'create' && !values.name) throw new HearthError('invalid_input', 'keys create needs --name');
  if (sub === 'create' && !ROLES.includes(values.role as ApiRole))
    throw new HearthError('invalid_input', `--role must be one of ${ROLES.join(', ')}`);
  const hdb = openDatabase(configFrom(values, io).database, { mustExist: sub === 'list' });
  try {
    await migrateToLatest(hdb.db);
    if (sub === 'create') {
      const key = await createApiKey(hdb.db, values.name!, values.role as ApiRole, Date.now());
      writeLine(io.stdout, values.json ? JSON.stringify(key) : `${key.id} ${key.role} ${key.key}`);
      return 0;
    }
    const rows = await hdb.db
      .selectFrom('api_keys')
      .select(['id', 'name', 'role', 'revoked_at'])
      .orderBy('id')
      .execute();
    if (values.json) writeLine(io.stdout, JSON.stringify({ data: rows }));
    else for (const r of rows) writeLine(io.stdout, `${r.id}\t${r.role}\t${r.name}${r.revoked_at ? '\trevoked' : ''}`);
    return 0;
  } finally {
    await hdb.close();
  }
}
