import { openDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { HearthError } from '../errors.ts';
import { changeFlag } from '../flows/governance.ts';
import { flagChanges, listSetFlags } from '../governance/flag-store.ts';
import { flagSpec, knownFlags } from '../governance/flags.ts';
import { heldShadowWrites } from '../governance/shadow-store.ts';
import { shadowReport } from '../governance/shadow.ts';
import { CONFIG_FLAGS, configFrom } from './config-flags.ts';
import { parseFlags, writeLine, type CliIo } from './io.ts';

const HELP = `Usage:
  hearth flags list [--json]                 every runtime flag, its value and default
  hearth flags set NAME VALUE [--reason TEXT]   e.g. writeback.hubspot shadow, identity.auto_link off
  hearth flags history [--limit N] [--json]  who changed which flag, when, from and to what
Common: [--config FILE] [--db URL]

Flags live in the database: every running Hearth process applies a change from its next batch,
without a restart. Setting writeback.<connector> from shadow to on sends, per record, only the
newest held write and only when it differs from what the system last received.`;

const SHADOW_HELP = `Usage:
  hearth shadow report [--connector NAME] [--json]   what the writes held in shadow mode would change
Common: [--config FILE] [--db URL]`;

export async function flagsCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    { ...CONFIG_FLAGS, json: { type: 'boolean' }, reason: { type: 'string' }, limit: { type: 'string' } },
    true,
  );
  const [sub, ...args] = positionals;
  if (values.help || !sub) return (writeLine(values.help ? io.stdout : io.stderr, HELP), values.help ? 0 : 2);
  const config = configFrom(values, io);
  const connectors = Object.keys(config.connectors);
  const hdb = openDatabase(config.database, { mustExist: true });
  try {
    await migrateToLatest(hdb.db);
    if (sub === 'list') {
      const set = new Map((await listSetFlags(hdb.db)).map((r) => [r.name, r]));
      const rows = knownFlags(connectors).map((name) => ({
        name,
        value: set.get(name)?.value ?? flagSpec(name, connectors)!.default,
        values: flagSpec(name, connectors)!.values,
        updated_by: set.get(name)?.updated_by ?? null,
      }));
      if (values.json) writeLine(io.stdout, JSON.stringify({ data: rows }));
      else for (const r of rows) writeLine(io.stdout, `${r.name}\t${r.value}\t(${r.values.join('|')})`);
      return 0;
    }
    if (sub === 'set') {
      const [name, value] = args;
      if (!name || !value || args.length > 2) throw new HearthError('invalid_input', 'flags set takes NAME VALUE');
      const r = await changeFlag(hdb.db, connectors, name, value, 'cli', Date.now(), values.reason ?? null);
      if (!r.change) writeLine(io.stdout, `${name} is already ${value}`);
      else writeLine(io.stdout, `${name}: ${r.change.from ?? '(default)'} -> ${value}`);
      if (r.released)
        writeLine(io.stdout, `released from shadow: ${r.released.sent} sent, ${r.released.dropped} dropped`);
      return 0;
    }
    if (sub === 'history') {
      const limit = values.limit === undefined ? 50 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new HearthError('invalid_input', '--limit must be a positive integer');
      const rows = await flagChanges(hdb.db, limit);
      if (values.json) writeLine(io.stdout, JSON.stringify({ data: rows }));
      else
        for (const r of rows)
          writeLine(
            io.stdout,
            `${new Date(r.changed_at).toISOString()}\t${r.name}\t` +
              `${r.from_value ?? '(default)'} -> ${r.to_value}\t${r.actor}`,
          );
      return 0;
    }
    throw new HearthError('invalid_input', `unknown flags subcommand "${sub}" (list, set or history)`);
  } finally {
    await hdb.close();
  }
}

export async function shadowCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    { ...CONFIG_FLAGS, json: { type: 'boolean' }, connector: { type: 'string' } },
    true,
  );
  const [sub] = positionals;
  if (values.help || !sub) return (writeLine(values.help ? io.stdout : io.stderr, SHADOW_HELP), values.help ? 0 : 2);
  if (sub !== 'report') throw new HearthError('invalid_input', `unknown shadow subcommand "${sub}" (report)`);
  const config = configFrom(values, io);
  const hdb = openDatabase(config.database, { mustExist: true });
  try {
    await migrateToLatest(hdb.db);
    const rows = await heldShadowWrites(hdb.db, values.connector ?? null);
    const report = shadowReport(rows.map((r) => ({ ...r, fields: JSON.parse(r.fields) as string[] })));
    if (values.json) writeLine(io.stdout, JSON.stringify({ data: report }));
    else if (report.length === 0) writeLine(io.stdout, 'no writes held in shadow mode');
    else
      for (const t of report) {
        writeLine(io.stdout, `${t.target}: ${t.writes} write(s) held for ${t.contacts} contact(s)`);
        for (const l of t.lines) writeLine(io.stdout, `  ${l}`);
      }
    return 0;
  } finally {
    await hdb.close();
  }
}
