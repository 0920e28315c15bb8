import { parse } from 'csv-parse/sync';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureIo } from '../../test-support/test-io.ts';
import { main } from '../main.ts';
import { userMessage } from './errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'hearth-cli-polish-'));

test('read-only commands refuse a database that does not exist, and create nothing', async () => {
  const typo = join(dir, 'typo.db');
  for (const argv of [
    ['jobs', 'list', '--db', `sqlite:${typo}`],
    ['keys', 'list', '--db', `sqlite:${typo}`],
  ]) {
    const t = captureIo('');
    assert.equal(await main(argv, t.io), 2, argv.join(' '));
    assert.equal(t.err().split('\n').length, 2, 'one line');
    assert.match(t.err(), /typo\.db does not exist: check --db \/ HEARTH_DB, or create it with hearth migrate/);
  }
  assert.equal(existsSync(typo), false);
});

test('address normalize takes files, keeps the line count, writes CSV on --csv', async () => {
  const a = join(dir, 'a.txt');
  const b = join(dir, 'b.txt');
  writeFileSync(a, '123 N Main St Apt 4B, Springfield, IL 62704\n\n');
  writeFileSync(b, '123 North Main Street Apartment 4-B, Springfield IL 62704\n');
  const t = captureIo('');
  assert.equal(await main(['address', 'normalize', a, b, '--csv'], t.io), 0, t.err());
  const rows = parse(t.out()) as string[][];
  assert.deepEqual(rows[0], ['raw', 'key', 'standardized', 'valid', 'reason']);
  assert.equal(rows.length, 4, 'header + 3 input lines');
  assert.deepEqual(rows[2], ['', '', '', '', '']);
  assert.equal(rows[1]![1], rows[3]![1], 'same delivery point, same key');
  assert.deepEqual([rows[1]![3], rows[1]![4]], ['true', '']);
  const missing = captureIo('');
  assert.equal(await main(['address', 'normalize', join(dir, 'nope.txt')], missing.io), 2);
  assert.match(missing.err(), /^hearth address: cannot read .*nope\.txt \(check the path\)\n$/);
});

test('raw system errors become one line saying what to do', async () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
    code: 'ECONNREFUSED',
    address: '127.0.0.1',
    port: 1,
  });
  assert.equal(
    userMessage(new AggregateError([refused], '')),
    'cannot connect to 127.0.0.1:1: connection refused (is it running? check --db / the URL)',
  );
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as { port: number }).port;
  const t = captureIo('', {});
  const code = await main(['serve', '--db', `sqlite:${join(dir, 'serve.db')}`, '--port', String(port)], t.io);
  busy.close();
  assert.notEqual(code, 0);
  assert.equal(
    t.err(),
    `hearth serve: address 127.0.0.1:${port} is already in use (stop the other process or pick another --port)\n`,
  );
  assert.match(
    userMessage(Object.assign(new Error('ENOENT: x'), { code: 'ENOENT', path: '/x/y' })),
    /no such file or directory: \/x\/y \(check the path\)/,
  );
});
