import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { describeEachDialect, describePostgres } from '../../test-support/dialects.ts';
import { pendingMigrations } from './migrate.ts';
import { openDatabase, redactUrl } from './database.ts';

describeEachDialect('database', (ctx) => {
  test('migrations are all applied and tables exist', async () => {
    const { db } = ctx.hdb();
    assert.deepEqual(await pendingMigrations(db), []);
    const row = await db.selectFrom('customers').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
    assert.equal(Number(row.n), 0);
  });

  test('bigint epoch milliseconds round-trip as numbers', async () => {
    const { db } = ctx.hdb();
    const t = 1_763_000_000_123;
    await db
      .insertInto('api_keys')
      .values({
        id: 'key_x',
        name: 'x',
        role: 'admin',
        key_hash: 'h',
        created_at: t,
        revoked_at: null,
        last_used_at: null,
      })
      .execute();
    const row = await db
      .selectFrom('api_keys')
      .select('created_at')
      .where('id', '=', 'key_x')
      .executeTakeFirstOrThrow();
    assert.equal(row.created_at, t);
    assert.equal(typeof row.created_at, 'number');
  });
});

describePostgres('postgres session options', (ctx) => {
  const setting = async (url: string) => {
    const hdb = openDatabase(url);
    try {
      const { rows } = await sql<{ v: string }>`select current_setting('max_parallel_workers_per_gather') as v`.execute(
        hdb.db,
      );
      return rows[0]!.v;
    } finally {
      await hdb.close();
    }
  };

  test('parallel query is off by default, and options in the URL replace the default', async () => {
    assert.equal(await setting(ctx.url()), '0');
    const url = new URL(ctx.url());
    url.searchParams.set('options', '-c max_parallel_workers_per_gather=2');
    assert.equal(await setting(url.toString()), '2');
  });
});

test('unknown database URL schemes are rejected with a clear message', () => {
  assert.throws(() => openDatabase('mysql://x'), /must start with sqlite: or postgres:\/\//);
});

test('passwords are redacted from printable URLs', () => {
  assert.equal(redactUrl('postgres://u:secret@h:5432/db'), 'postgres://u:***@h:5432/db');
});
