import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { sql } from 'kysely';
import { openDatabase } from '../db/database.ts';
import { main } from '../main.ts';

test('hearth demo --once leaves something on every console page', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-demo-console-'));
  const file = join(dir, 'demo.db');
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (c) => (out += c));
  const code = await main(['demo', '--once', '--port', '0', '--db', `sqlite:${file}`], {
    stdin: new PassThrough(),
    stdout,
    stderr: new PassThrough(),
    env: {},
    isTTY: false,
  });
  assert.equal(code, 0, out);
  assert.match(out, /order #4001 .* placed 4 minutes ago/);
  assert.match(out, /reconciliation runs found [1-9]\d* then \d+ drifted field\(s\)/);
  const hdb = openDatabase(`sqlite:${file}`, { mustExist: true });
  const db = hdb.db;
  try {
    const late = await db
      .selectFrom('jobs')
      .select('id')
      .where('kind', '=', 'crm.address_write')
      .where('status', '=', 'done')
      .where(sql<boolean>`done_at - origin_at > 60000`)
      .execute();
    assert.ok(late.length >= 1, 'a write-back past the 60 s window (write-back page)');
    const dead = await db.selectFrom('jobs').select('last_error').where('status', '=', 'dead').execute();
    assert.ok(dead.length >= 1 && dead.every((d) => d.last_error), 'a dead letter with its vendor error');
    const review = await db.selectFrom('review_items').select('id').where('status', '=', 'pending').execute();
    assert.ok(review.length >= 1, 'an item waiting for review');
    const runs = await db.selectFrom('reconcile_runs').select('id').where('status', '=', 'done').execute();
    assert.ok(runs.length >= 3, 'drift over time needs several runs');
    const drifted = await db.selectFrom('reconcile_scores').select('run_id').where('drifted', '>', 0).execute();
    assert.ok(new Set(drifted.map((d) => d.run_id)).size >= 2, 'drift in more than one run');
    const pool = await db.selectFrom('ledger_entries').select('id').where('account_id', 'like', 'hh_%').execute();
    assert.ok(pool.length >= 2, 'a household with ledger history');
  } finally {
    await hdb.close();
  }
});
