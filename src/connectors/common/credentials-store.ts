import { lockAcrossProcesses, type HearthDb } from '../../db/database.ts';
import type { DataCipher } from '../../crypto/data-keys.ts';

/** A connector's shared token row, the token decrypted (null when tokens are not stored). */
export interface SharedToken {
  access_token: string | null;
  expires_at: number | null;
  state: 'ok' | 'needs_reauth';
  error: string | null;
  /** Which grant the row's state belongs to (a hash prefix of the grant, never the secret). */
  grant_fp: string;
  version: number;
}

export type SharedTokenWrite = Omit<SharedToken, 'version'>;

/**
 * Where the processes on one database share each connector's token and `needs_reauth` state.
 * `renewing` is the single-flight across processes: one holder per connector at a time, and the
 * holder sees the row as the previous holder left it.
 */
export interface TokenStore {
  /** Tokens are kept (encrypted with the data key); false: only the state is shared. */
  readonly keepsTokens: boolean;
  read(connector: string): Promise<SharedToken | null>;
  /**
   * Runs `decide` holding the connector's renewal lock with the row re-read under it; writes what
   * it returns (version + 1) before the lock is released.
   */
  renewing<T>(
    connector: string,
    decide: (row: SharedToken | null) => Promise<{ write: SharedTokenWrite | null; value: T }>,
  ): Promise<T>;
}

/**
 * The token store on Hearth's database. PostgreSQL: an advisory transaction lock per connector,
 * held while the token request runs (one pooled connection per renewing connector). SQLite has one
 * process: a promise chain per database file and connector stands in for the lock, so no
 * transaction (which would hold SQLite's only connection) spans the token request.
 */
export function createTokenStore(hdb: HearthDb, cipher: DataCipher | null, now: () => number = Date.now): TokenStore {
  const read = async (db: HearthDb['db'], connector: string): Promise<SharedToken | null> => {
    const r = await db.selectFrom('connector_tokens').selectAll().where('connector', '=', connector).executeTakeFirst();
    if (!r) return null;
    return {
      access_token: r.access_token !== null && cipher ? cipher.decrypt(r.access_token) : null,
      expires_at: r.expires_at === null ? null : Number(r.expires_at),
      state: r.state,
      error: r.error,
      grant_fp: r.grant_fp,
      version: Number(r.version),
    };
  };
  const write = async (db: HearthDb['db'], connector: string, w: SharedTokenWrite, version: number) => {
    const values = {
      // Without a data key the token never reaches the database.
      access_token: w.access_token !== null && cipher ? cipher.encrypt(w.access_token) : null,
      expires_at: w.expires_at,
      state: w.state,
      error: w.error,
      grant_fp: w.grant_fp,
      version,
      updated_at: now(),
    };
    await db
      .insertInto('connector_tokens')
      .values({ connector, ...values })
      .onConflict((oc) => oc.column('connector').doUpdateSet(values))
      .execute();
  };
  return {
    keepsTokens: cipher !== null,
    read: (connector) => read(hdb.db, connector),
    renewing(connector, decide) {
      if (hdb.caps.singleProcess)
        return serialised(`${hdb.display}\0${connector}`, async () => {
          const row = await read(hdb.db, connector);
          const out = await decide(row);
          if (out.write) await write(hdb.db, connector, out.write, (row?.version ?? 0) + 1);
          return out.value;
        });
      return hdb.db.transaction().execute(async (trx) => {
        await lockAcrossProcesses(trx, hdb.caps, `hearth.connector_token.${connector}`);
        const row = await read(trx, connector);
        const out = await decide(row);
        if (out.write) await write(trx, connector, out.write, (row?.version ?? 0) + 1);
        return out.value;
      });
    },
  };
}

const chains = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier call with the same key has settled (an in-process lock). */
function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = chains.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => undefined);
  chains.set(key, tail);
  void tail.then(() => {
    if (chains.get(key) === tail) chains.delete(key);
  });
  return run;
}
