import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { startCheckpointer } from './checkpointer.ts';
import { openDatabase } from './database.ts';

describe('background WAL checkpoints (SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-ckpt-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('copies every committed WAL frame into the database from a worker thread', async () => {
    const path = join(dir, 'a.db');
    const main = new SqliteDatabase(path);
    main.pragma('journal_mode = WAL');
    main.pragma('wal_autocheckpoint = 0'); // only the worker checkpoints
    main.exec('create table t (id integer primary key, v text)');
    const insert = main.prepare('insert into t (v) values (?)');
    for (let i = 0; i < 500; i++) insert.run('x'.repeat(200));
    const cp = startCheckpointer(path, 60_000, (err) => assert.fail(err));
    try {
      const r = await cp.checkpoint();
      assert.ok(r.log > 0, `the WAL held frames (${r.log})`);
      assert.equal(r.checkpointed, r.log);
      // A second connection that never read the WAL sees the rows in the database file.
      main.close();
      const fresh = new SqliteDatabase(path, { readonly: true });
      assert.equal((fresh.prepare('select count(*) as n from t').get() as { n: number }).n, 500);
      fresh.close();
    } finally {
      await cp.stop();
    }
  });

  it('a server connection leaves checkpoints to the worker (threshold raised) and closes cleanly', async () => {
    const hdb = openDatabase(`sqlite:${join(dir, 'b.db')}`, { backgroundCheckpointMs: 10 });
    const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(hdb.db);
    assert.equal(rows[0]!.wal_autocheckpoint, 10000);
    await hdb.close();
    const plain = openDatabase(`sqlite:${join(dir, 'c.db')}`);
    const d = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(plain.db);
    assert.equal(d.rows[0]!.wal_autocheckpoint, 1000);
    await plain.close();
  });
});
