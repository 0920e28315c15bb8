import type { HearthConfig } from '../config/loader.ts';
import { secureDatabase } from '../crypto/key-check.ts';
import { dataKeyStatus, retireUnusedKeys, rotateDataKey, type KeyStatus } from '../crypto/rotate.ts';
import { openDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { HearthError } from '../errors.ts';
import { writeLine, type CliIo } from './io.ts';

export const DATA_KEY_HELP = `  hearth keys rotate-data-key [--batch N] [--json]
      Re-encrypts every stored value under security.current_key (add the new key to
      security.data_keys and point current_key at it first; keep the old key until status shows 0).
      Resumable: run it again after an interruption. Safe beside a running hearth serve.
  hearth keys status [--json]    Rows holding values under each data key id (and in clear).`;

/** `hearth keys rotate-data-key` and `hearth keys status` (data keys for encryption at rest). */
export async function dataKeysCommand(
  sub: 'rotate-data-key' | 'status',
  config: HearthConfig,
  o: { batch?: string | undefined; json?: boolean | undefined },
  io: CliIo,
): Promise<number> {
  const batch = o.batch === undefined ? 500 : Number(o.batch);
  if (!Number.isInteger(batch) || batch < 1 || batch > 10_000)
    throw new HearthError('invalid_input', '--batch must be an integer from 1 to 10000');
  const opened = openDatabase(config.database, { mustExist: true });
  try {
    await migrateToLatest(opened.db);
    // The same key check as at start-up: a wrong key refuses before any value is rewritten.
    const hdb = await secureDatabase(opened, config.security);
    const ids = Object.keys(config.security.data_keys);
    if (sub === 'rotate-data-key') {
      if (!hdb.cipher)
        throw new HearthError('invalid_input', 'encryption is off: set security.current_key (and lookup_key) first');
      const cipher = hdb.cipher;
      const rewritten = await rotateDataKey(hdb.raw, cipher, {
        batch,
        onBatch: (p) =>
          writeLine(
            io.stderr,
            `rotating to ${cipher.currentKeyId}: ${p.table} ${p.scanned} rows scanned, ${p.rewritten} re-encrypted`,
          ),
      });
      const retired = await retireUnusedKeys(hdb.raw, cipher);
      const status = await dataKeyStatus(hdb.raw, ids);
      if (o.json)
        writeLine(io.stdout, JSON.stringify({ current_key: cipher.currentKeyId, rewritten, retired, ...status }));
      else {
        for (const [t, n] of Object.entries(rewritten)) writeLine(io.stdout, `${t}: ${n} row(s) re-encrypted`);
        if (retired.length > 0)
          writeLine(io.stdout, `no values left under ${retired.join(', ')}: may be removed from config`);
        printStatus(status, io);
      }
      return 0;
    }
    const status = await dataKeyStatus(hdb.raw, ids);
    if (o.json) writeLine(io.stdout, JSON.stringify({ current_key: hdb.cipher?.currentKeyId ?? null, ...status }));
    else {
      writeLine(io.stdout, `current key: ${hdb.cipher?.currentKeyId ?? '(none: encryption off)'}`);
      printStatus(status, io);
    }
    return 0;
  } finally {
    await opened.close();
  }
}

function printStatus(s: KeyStatus, io: CliIo): void {
  for (const [id, n] of Object.entries(s.totals)) {
    const per = Object.entries(s.tables)
      .map(([t, c]) => `${t} ${c[id] ?? 0}`)
      .join(', ');
    writeLine(io.stdout, `${id === 'clear' ? '(clear)' : id}\t${n} row(s)\t${per}`);
  }
}
