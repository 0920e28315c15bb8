import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import pg from 'pg';
import { openDatabase, type HearthDb } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';

/**
 * Runs a suite once per dialect, each on a database of its own that is created, migrated and
 * dropped around the suite. PostgreSQL is used when a server answers at HEARTH_TEST_PG_URL
 * (default: the local server); otherwise that half is skipped with a printed notice.
 */
export interface DialectContext {
  /** The migrated database of this run; valid inside tests and hooks. */
  hdb(): HearthDb;
  /** A URL another process could open (for multi-process and crash tests). */
  url(): string;
}

const ADMIN_URL = process.env.HEARTH_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function probePostgres(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    console.log(`# notice: PostgreSQL not reachable at ${ADMIN_URL}; PostgreSQL suites are skipped`);
    return false;
  }
}

/**
 * Probed once, when a test file first imports this module. It must be known before any suite is
 * registered: node:test attaches a test declared after an `await` inside a `describe` body to
 * whichever suite happens to be running when the await resumes, so a file's second PostgreSQL
 * suite used to end up empty (and pass) while its tests ran under the first suite.
 */
const PG_AVAILABLE = await probePostgres();

export const DIALECTS = ['sqlite', 'postgres'] as const;
export type DialectName = (typeof DIALECTS)[number];

export function describeEachDialect(title: string, body: (ctx: DialectContext, dialect: DialectName) => void): void {
  for (const dialect of DIALECTS) describeOn(dialect, title, body);
}

/** A suite about PostgreSQL alone (its session settings, say): skipped with a notice where no server answers. */
export function describePostgres(title: string, body: (ctx: DialectContext) => void): void {
  describeOn('postgres', title, body);
}

function describeOn(
  dialect: DialectName,
  title: string,
  body: (ctx: DialectContext, dialect: DialectName) => void,
): void {
  const skip = dialect === 'postgres' && !PG_AVAILABLE ? 'PostgreSQL not reachable' : false;
  describe(`${title} [${dialect}]`, { skip }, () => {
    const fixture = dialect === 'sqlite' ? sqliteFixture() : postgresFixture();
    before(() => fixture.setUp());
    after(() => fixture.tearDown());
    body({ hdb: () => fixture.current(), url: () => fixture.url() }, dialect);
  });
}

interface Fixture {
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  current(): HearthDb;
  url(): string;
}

function sqliteFixture(): Fixture {
  let dir = '';
  let hdb: HearthDb | undefined;
  return {
    async setUp() {
      dir = mkdtempSync(join(tmpdir(), 'hearth-test-'));
      hdb = openDatabase(`sqlite:${join(dir, 'hearth.db')}`);
      await migrateToLatest(hdb.db);
    },
    async tearDown() {
      await hdb?.close();
      rmSync(dir, { recursive: true, force: true });
    },
    current: () => must(hdb),
    url: () => `sqlite:${join(dir, 'hearth.db')}`,
  };
}

function postgresFixture(): Fixture {
  const name = `hearth_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const dbUrl = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  let hdb: HearthDb | undefined;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: ADMIN_URL });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  return {
    async setUp() {
      await admin(`CREATE DATABASE ${name}`);
      hdb = openDatabase(dbUrl, { poolSize: 12 });
      await migrateToLatest(hdb.db);
    },
    async tearDown() {
      await hdb?.close();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
    current: () => must(hdb),
    url: () => dbUrl,
  };
}

function must<T>(v: T | undefined): T {
  if (v === undefined) throw new Error('database fixture used outside its suite');
  return v;
}

/** The customer a crosswalk entry points at (the test fails if there is none). */
export async function linkOf(ctx: DialectContext, system: string, id: string): Promise<string> {
  const row = await ctx
    .hdb()
    .db.selectFrom('source_links')
    .select('customer_id')
    .where('system', '=', system)
    .where('external_id', '=', id)
    .executeTakeFirstOrThrow();
  return row.customer_id;
}
