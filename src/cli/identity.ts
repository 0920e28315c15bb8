import { openDatabase } from '../db/database.ts';
import { secureDatabase } from '../crypto/key-check.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { HearthError } from '../errors.ts';
import { listModels, trainIdentityModel } from '../identity/model-store.ts';
import { CONFIG_FLAGS, configFrom } from './config-flags.ts';
import { parseFlags, writeLine, type CliIo } from './io.ts';

const HELP = `Usage:
  hearth identity train [--json]    fit the match model over the stored customers, save it as a new version
  hearth identity models [--json]   the stored model versions, newest first
Common: [--config FILE] [--db URL]

Matching at ingest scores new records with the latest trained version (EM without labels, the
same engine as 'hearth match'), and records that version on each review item and automatic link.
Before the first training it uses built-in default parameters ("model=defaults").`;

export async function identityCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, { ...CONFIG_FLAGS, json: { type: 'boolean' } }, true);
  const [sub, ...extra] = positionals;
  if (values.help || !sub) return (writeLine(sub ? io.stdout : io.stderr, HELP), values.help ? 0 : 2);
  if (extra.length > 0 || (sub !== 'train' && sub !== 'models'))
    throw new HearthError('invalid_input', `unknown identity command "${positionals.join(' ')}" (train, models)`);
  const config = configFrom(values, io);
  const opened = openDatabase(config.database);
  try {
    await migrateToLatest(opened.db);
    const hdb = await secureDatabase(opened, config.security);
    if (sub === 'models') {
      const rows = await listModels(hdb.db);
      if (values.json) writeLine(io.stdout, JSON.stringify(rows));
      else {
        writeLine(io.stdout, ['version', 'records', 'candidate_pairs', 'trained_by', 'created_at'].join('\t'));
        for (const r of rows)
          writeLine(
            io.stdout,
            [r.version, r.records, r.candidate_pairs, r.trained_by, new Date(r.created_at).toISOString()].join('\t'),
          );
      }
      return 0;
    }
    const out = await trainIdentityModel(hdb.db, {
      now: Date.now(),
      trainedBy: 'cli',
      defaultCountry: config.identity.default_country,
    });
    if (values.json) writeLine(io.stdout, JSON.stringify(out));
    else
      writeLine(
        io.stdout,
        `identity model v${out.version}: ${out.records} customers, ${out.candidate_pairs} candidate pairs, ` +
          `prior ${out.lambda.toPrecision(3)}, ${out.iterations} EM iterations, ${out.elapsed_ms} ms`,
      );
    return 0;
  } finally {
    await opened.close();
  }
}
