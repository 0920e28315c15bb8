import type { Kysely } from 'kysely';
import type { HearthDb } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { atRestPlugin } from './at-rest.ts';
import { createDataCipher, type DataCipher, type SecurityConfig } from './data-keys.ts';

/** The constant sealed under each data key on its first use; reading it back proves the key. */
const CHECK_PLAIN = 'hearth-data-key-check-v1';
/** The row id of the lookup key's check (key ids cannot contain `#`). */
export const LOOKUP_CHECK_ID = '#lookup';

/**
 * Verifies the configured keys against the database before anything is read or written, and
 * records a check value for a key seen for the first time. Refuses (HearthError invalid_config,
 * one line) when a configured key does not decrypt its check value, when the lookup key changed
 * (matching and tombstones would silently stop finding people), when stored values need a key
 * that is not configured, or when encrypted values exist but encryption is off. Returns the cipher,
 * or null when encryption is off and the database holds no encrypted values.
 */
export async function verifyDataKeys(
  db: Kysely<Database>,
  security: SecurityConfig,
  now: number,
): Promise<DataCipher | null> {
  const cipher = createDataCipher(security);
  const rows = await db
    .selectFrom('data_keys')
    .selectAll()
    .execute()
    .catch((err: unknown) => {
      // `hearth serve --no-migrate` on a database before migration 0085: nothing can be encrypted yet.
      if (!cipher) return [];
      throw new HearthError(
        'invalid_config',
        `data keys cannot be checked (${(err as Error).message}): run hearth migrate`,
      );
    });
  const stored = new Map(rows.map((r) => [r.key_id, r.check_value]));
  const dataIds = [...stored.keys()].filter((id) => id !== LOOKUP_CHECK_ID);
  if (!cipher) {
    if (dataIds.length > 0)
      throw new HearthError(
        'invalid_config',
        `this database holds values encrypted with data key ${dataIds.map((i) => `"${i}"`).join(', ')}, ` +
          'but security.current_key is not set: configure security.data_keys, current_key and lookup_key',
      );
    return null;
  }
  const missing = dataIds.filter((id) => !(id in security.data_keys));
  if (missing.length > 0)
    throw new HearthError(
      'invalid_config',
      `stored values are encrypted with data key ${missing.map((i) => `"${i}"`).join(', ')}, which is not ` +
        'configured: add it back to security.data_keys (remove a key only once `hearth keys status` shows 0 under it)',
    );
  const lookupCheck = cipher.lookupHash('check', CHECK_PLAIN);
  const fresh: { key_id: string; check_value: string; created_at: number }[] = [];
  for (const id of Object.keys(security.data_keys)) {
    const check = stored.get(id);
    if (check === undefined) {
      // Only the current key is recorded on first use: a configured key never used is no evidence.
      if (id === cipher.currentKeyId)
        fresh.push({ key_id: id, check_value: cipher.encrypt(CHECK_PLAIN), created_at: now });
      continue;
    }
    if (cipher.keyIdOf(check) !== id || !decryptsTo(cipher, check))
      throw new HearthError(
        'invalid_config',
        `data key "${id}" is not the key this database's values were encrypted with (key check failed): ` +
          'refusing to start; restore the original key',
      );
  }
  const lookup = stored.get(LOOKUP_CHECK_ID);
  if (lookup === undefined) fresh.push({ key_id: LOOKUP_CHECK_ID, check_value: lookupCheck, created_at: now });
  else if (lookup !== lookupCheck)
    throw new HearthError(
      'invalid_config',
      'security.lookup_key is not the key this database was set up with (key check failed): refusing to ' +
        'start; the lookup key must never change (keyed hashes stored with it would stop matching)',
    );
  if (fresh.length > 0)
    await db
      .insertInto('data_keys')
      .values(fresh)
      .onConflict((oc) => oc.column('key_id').doNothing())
      .execute();
  return cipher;
}

function decryptsTo(cipher: DataCipher, check: string): boolean {
  try {
    return cipher.decrypt(check) === CHECK_PLAIN;
  } catch {
    return false;
  }
}

/**
 * The database as the rest of Hearth uses it: unchanged when encryption is off, else with the
 * at-rest plugin installed (encrypt on write, decrypt on read) after the keys were verified.
 * Call after migrations. `raw` keeps the unwrapped handle (rotation reads stored values as they are).
 */
export async function secureDatabase(
  hdb: HearthDb,
  security: SecurityConfig,
  now: number = Date.now(),
): Promise<HearthDb & { cipher: DataCipher | null; raw: Kysely<Database> }> {
  const cipher = await verifyDataKeys(hdb.db, security, now);
  if (!cipher) return Object.assign(hdb, { cipher: null, raw: hdb.db });
  return { ...hdb, db: hdb.db.withPlugin(atRestPlugin(cipher)), cipher, raw: hdb.db };
}
