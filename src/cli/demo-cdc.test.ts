import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captureIo } from '../../test-support/test-io.ts';
import { main } from '../main.ts';

test('hearth demo-cdc: each Lightning edit is applied over the subscriber, with its replay id', async () => {
  const run = captureIo();
  assert.equal(await main(['demo-cdc'], run.io), 0, run.err());
  const lines = run.out().split('\n');
  assert.match(lines[0]!, /subscribed to Salesforce CDC/);
  const applied = lines.filter((l) =>
    /in Lightning -> arrived over the subscriber in \d+ ms, applied by Hearth in \d+ ms \(replay id \d+\)/.test(l),
  );
  assert.equal(applied.length, 3, run.out());
  assert.match(run.out(), /where a restart resumes/);
});
