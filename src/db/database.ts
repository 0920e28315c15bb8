import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, sql, SqliteDialect } from 'kysely';
import pg from 'pg';
import { HearthError } from '../errors.ts';
import type { Database } from './schema.ts';

/**
 * What differs between the dialects, as flags. Code asks "can I skip locked rows?",
 * never "is this PostgreSQL?".
 */
export interface DialectCaps {
  name: 'sqlite' | 'postgres';
  /** `FOR UPDATE SKIP LOCKED` exists: several processes may claim work concurrently. */
  skipLocked: boolean;
  /** Only one process may use the database (an embedded file). */
  singleProcess: boolean;
}

export interface HearthDb {
  db: Kysely<Database>;
  caps: DialectCaps;
  /** A printable form of the URL with any password removed. */
  display: string;
  /**
   * Other processes on this database hear about new work at once (PostgreSQL LISTEN/NOTIFY);
   * absent where one process owns the database (SQLite): in-process wake-ups suffice there.
   */
  signals?: WorkSignals;
  close(): Promise<void>;
}

export type WorkChannel = 'inbox' | 'jobs';

export interface WorkSignals {
  /** Tells every listening process that work of this kind was committed. */
  notify(channel: WorkChannel): Promise<void>;
  /**
   * Calls `on` for each notification; after a dropped connection it reconnects with backoff and
   * calls `on` for every channel (notifications sent meanwhile were lost). Returns a stop function.
   */
  listen(on: (channel: WorkChannel) => void, onError?: (err: Error) => void): () => Promise<void>;
}

export interface OpenOptions {
  /** SQLite `synchronous`: NORMAL survives process crashes; FULL also survives power loss. */
  sqliteSynchronous?: 'NORMAL' | 'FULL';
  poolSize?: number;
  onIdleError?: (err: Error) => void;
  /** Refuse a missing SQLite file instead of creating it (read-only commands: a typo is not a new database). */
  mustExist?: boolean;
}

export function openDatabase(url: string, opts: OpenOptions = {}): HearthDb {
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length), opts);
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgres(url, opts);
  throw new HearthError(
    'invalid_config',
    `database URL must start with sqlite: or postgres:// (got "${redactUrl(url)}")`,
  );
}

function openSqlite(path: string, opts: OpenOptions): HearthDb {
  if (!path)
    throw new HearthError('invalid_config', 'database URL sqlite: needs a file path, e.g. sqlite:./data/hearth.db');
  if (opts.mustExist && path !== ':memory:' && !existsSync(path))
    throw new HearthError(
      'invalid_input',
      `database ${path} does not exist: check --db / HEARTH_DB, or create it with hearth migrate`,
    );
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SqliteDatabase(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`synchronous = ${opts.sqliteSynchronous ?? 'NORMAL'}`);
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return {
    db,
    caps: { name: 'sqlite', skipLocked: false, singleProcess: true },
    display: `sqlite:${path}`,
    close: () => db.destroy(),
  };
}

function openPostgres(url: string, opts: OpenOptions): HearthDb {
  // BIGINT columns hold epoch milliseconds; they fit in a double, so parse them as numbers.
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'),
  };
  const pool = new pg.Pool({ connectionString: url, options: SESSION_OPTIONS, max: opts.poolSize ?? 10, types });
  // An idle client whose server connection drops (restart, failover) must not crash the
  // process; the pool replaces it on next use.
  pool.on('error', (err) => opts.onIdleError?.(err));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    caps: { name: 'postgres', skipLocked: true, singleProcess: false },
    display: redactUrl(url),
    signals: postgresSignals(url, db),
    close: () => db.destroy(),
  };
}

/**
 * Session options of Hearth's connections. Its statements are short lookups and writes by key; when a
 * table's statistics are missing or stale (a fresh load before autovacuum's analyze), PostgreSQL may
 * plan a lookup of a few hundred keys as a parallel scan, and starting the two workers took 40-300 ms
 * on a 2-core VM against a 15 ms scan: 60% of the engine bench's database time (auto_explain, 3
 * December). An `options` parameter in the database URL replaces these (node-postgres: the URL's
 * parameters win over the pool's).
 */
export const SESSION_OPTIONS = '-c max_parallel_workers_per_gather=0';

const CHANNELS: Record<WorkChannel, string> = { inbox: 'hearth_inbox', jobs: 'hearth_jobs' };

function postgresSignals(url: string, db: Kysely<Database>): WorkSignals {
  // The payload names the sending process, so a process does not wake itself twice.
  const self = randomUUID();
  const send = (channel: WorkChannel) => async () => {
    await sql`select pg_notify(${CHANNELS[channel]}, ${self})`.execute(db);
  };
  const notifiers = { inbox: coalesced(send('inbox')), jobs: coalesced(send('jobs')) };
  return {
    notify: (channel) => notifiers[channel](),
    listen: (on, onError) => listenLoop(url, self, on, onError),
  };
}

/**
 * `send` at most once at a time: a call while one is on its way (under load, one per stored
 * webhook) queues a single further send, started once that one settles, shared by every call
 * meanwhile. So each call is still followed by a notification sent after it was made (after its
 * caller's commit), which is all a listener needs (a wake-up reads whatever is pending), with one
 * statement per round trip instead of one per call. The promise settles with the send covering it.
 */
export function coalesced(send: () => Promise<void>): () => Promise<void> {
  let inFlight: Promise<void> | null = null;
  let queued: Promise<void> | null = null;
  const fire = (): Promise<void> => {
    const p: Promise<void> = send().finally(() => {
      if (inFlight === p) inFlight = null;
    });
    inFlight = p;
    return p;
  };
  const ignore = () => {};
  return () => {
    if (!inFlight) return fire();
    queued ??= inFlight.then(ignore, ignore).then(() => {
      queued = null;
      return fire();
    });
    return queued;
  };
}

/** One dedicated connection LISTENing on both channels, reconnected with backoff when it drops. */
function listenLoop(
  url: string,
  self: string,
  on: (c: WorkChannel) => void,
  onError?: (err: Error) => void,
): () => Promise<void> {
  let stopped = false;
  let client: pg.Client | null = null;
  let retry: ReturnType<typeof setTimeout> | null = null;
  let everListened = false;
  const byName = new Map(Object.entries(CHANNELS).map(([k, v]) => [v, k as WorkChannel]));
  const connect = async (attempt: number): Promise<void> => {
    if (stopped) return;
    const c = new pg.Client({ connectionString: url });
    let listening = false;
    const again = (err: Error) => {
      if (stopped || client !== c) return;
      client = null;
      onError?.(err);
      void c.end().catch(() => {});
      const next = listening ? 0 : attempt + 1; // a connection that worked starts the backoff afresh
      retry = setTimeout(() => void connect(next), Math.min(30_000, 500 * 2 ** next));
    };
    client = c;
    c.on('error', again);
    c.on('notification', (n) => {
      const channel = byName.get(n.channel);
      if (channel && n.payload !== self) on(channel);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANNELS.inbox}; LISTEN ${CHANNELS.jobs}`);
      listening = true;
      c.on('end', () => again(new Error('LISTEN connection closed')));
      if (everListened) for (const ch of byName.values()) on(ch); // what was sent while we were away
      everListened = true;
    } catch (err) {
      again(err as Error);
    }
  };
  void connect(0);
  return async () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    await client?.end().catch(() => {});
  };
}

/**
 * Kysely prepares every query afresh; on SQLite, preparing costs more than running a small
 * statement. One connection runs one query at a time, so reusing prepared statements by SQL
 * text is safe; the cache is bounded because IN-lists and multi-row inserts vary the text.
 */
function withStatementCache(sqlite: SqliteDatabase.Database, max = 500) {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => sqlite.close(),
    prepare: (sqlText: string) => {
      let stmt = cache.get(sqlText);
      if (stmt) {
        cache.delete(sqlText);
      } else {
        stmt = sqlite.prepare(sqlText);
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
      }
      cache.set(sqlText, stmt);
      return stmt;
    },
  };
}

/**
 * One holder at a time across processes for `name` (PostgreSQL advisory lock held until the
 * caller's transaction ends); nothing on a single-process database.
 */
export async function lockAcrossProcesses(trx: Kysely<Database>, caps: DialectCaps, name: string): Promise<void> {
  if (caps.singleProcess) return;
  await sql`select pg_advisory_xact_lock(hashtext(${name}))`.execute(trx);
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/**
 * Serialises check-then-write sections across processes (one live reconciliation run...): inside
 * the caller's transaction, other writers of `table` wait until it commits. A single-process
 * database (SQLite) already has one writer, so nothing is needed there.
 */
export async function lockTableForWrite(
  trx: Kysely<Database>,
  caps: DialectCaps,
  table: keyof Database & string,
): Promise<void> {
  if (caps.singleProcess) return;
  await sql`LOCK TABLE ${sql.table(table)} IN SHARE ROW EXCLUSIVE MODE`.execute(trx);
}
