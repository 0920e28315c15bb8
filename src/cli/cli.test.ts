import { captureIo } from '../../test-support/test-io.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../main.ts';
import { openDatabase } from '../db/database.ts';
import { enqueueJobs, claimJobs, markDead } from '../engine/jobs.ts';

const io = (stdinText = '') => captureIo(stdinText);

const dir = mkdtempSync(join(tmpdir(), 'hearth-cli-'));
const db = `sqlite:${join(dir, 'cli.db')}`;

test('--help everywhere; unknown commands and flags are one line and non-zero', async () => {
  for (const cmd of [
    ['--help'],
    ['serve', '--help'],
    ['demo', '--help'],
    ['migrate', '--help'],
    ['jobs', '--help'],
    ['keys', '--help'],
    ['address', '--help'],
  ]) {
    const t = io();
    assert.equal(await main(cmd, t.io), 0, cmd.join(' '));
    assert.match(t.out(), /Usage|Commands/);
  }
  const unknown = io();
  assert.equal(await main(['frobnicate'], unknown.io), 2);
  assert.equal(unknown.err(), 'hearth: unknown command "frobnicate" (see hearth --help)\n');
  const flag = io();
  assert.equal(await main(['migrate', '--nope'], flag.io), 2);
  assert.equal(flag.err().split('\n').length, 2, 'one line');
  assert.match(flag.err(), /^hearth migrate: Unknown option '--nope'/);
});

test('migrate, keys create/list, bad config', async () => {
  const m = io();
  assert.equal(await main(['migrate', '--db', db, '--json'], m.io), 0);
  const applied = JSON.parse(m.out()).applied as string[];
  assert.equal(applied[0], '0001-core');
  assert.deepEqual(applied, [...applied].sort(), 'applied in name order');
  const again = io();
  assert.equal(await main(['migrate', '--db', db, '--json'], again.io), 0);
  assert.deepEqual(JSON.parse(again.out()).applied, [], 'a second migrate applies nothing');
  const k = io();
  assert.equal(await main(['keys', 'create', '--db', db, '--name', 'ops', '--role', 'operator', '--json'], k.io), 0);
  assert.equal(JSON.parse(k.out()).role, 'operator');
  const bad = io();
  assert.equal(await main(['keys', 'create', '--db', db, '--name', 'x', '--role', 'root'], bad.io), 2);
  assert.match(bad.err(), /--role must be one of admin, operator, readonly/);
  const cfg = join(dir, 'bad.yaml');
  writeFileSync(cfg, 'server: { port: "x" }\n');
  const badCfg = io();
  assert.equal(await main(['migrate', '--config', cfg], badCfg.io), 2);
  assert.match(badCfg.err(), /^hearth migrate: config server\.port: /);
  const badDb = io();
  assert.equal(await main(['migrate', '--db', 'mysql://x'], badDb.io), 2);
  assert.match(badDb.err(), /must start with sqlite: or postgres:/);
});

test('jobs list shows dead letters; jobs retry re-drives them and refuses others', async () => {
  const hdb = openDatabase(db);
  await enqueueJobs(
    hdb.db,
    [{ target: 'hubspot', kind: 'crm.address_write', job_key: 'k', payload: {}, origin_at: 1 }],
    3,
    1,
  );
  const [job] = await claimJobs(hdb.db, hdb.caps, { target: 'hubspot', limit: 1, worker_id: 'w', now: 1, lease_ms: 1 });
  await markDead(hdb.db, job!.id, 'HTTP 400 bad zip', 'invalid', 2);
  await hdb.close();
  const list = io();
  assert.equal(await main(['jobs', 'list', '--db', db, '--status', 'dead', '--json'], list.io), 0);
  const data = JSON.parse(list.out()).data;
  assert.equal(data.length, 1);
  assert.equal(data[0].last_error, 'HTTP 400 bad zip');
  const retry = io();
  assert.equal(await main(['jobs', 'retry', '--db', db, job!.id], retry.io), 0);
  assert.equal(retry.out(), `${job!.id}: requeued\n`);
  const again = io();
  assert.equal(await main(['jobs', 'retry', '--db', db, job!.id, 'job_missing'], again.io), 1);
  assert.match(again.err(), /is pending; only dead or superseded jobs can be retried/);
  assert.match(again.err(), /job_missing: not found/);
  const badStatus = io();
  assert.equal(await main(['jobs', 'list', '--db', db, '--status', 'zombie'], badStatus.io), 2);
});
