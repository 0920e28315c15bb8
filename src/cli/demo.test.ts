import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../main.ts';
import { DEMO_PEOPLE } from './demo-people.ts';

test('hearth demo --once: corrections reach the simulated CRM, respellings and echoes do not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-demo-'));
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let logs = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => ((out += c), (logs += c)));
  const code = await main(['demo', '--once', '--port', '0', '--db', `sqlite:${join(dir, 'demo.db')}`], {
    stdin: new PassThrough(),
    stdout,
    stderr,
    // Every log line the demo makes, so the PII check below sees requests, jobs and dead letters.
    env: { HEARTH_LOG_LEVEL: 'debug' },
    isTTY: false,
  });
  assert.equal(code, 0, out);
  assert.match(
    out,
    new RegExp(
      String.raw`maria\.garcia@example\.com\s+was "14 Elm St" -> ` +
        String.raw`now "2200 North Lincoln Avenue Apt 4B, Chicago, IL 60614" \(written 1x`,
    ),
  );
  assert.match(out, /emma\.brown@example\.com\s+was .* \(written 1x/, 'the respelled second order wrote nothing');
  assert.match(out, /new\.customer@example\.com\s+not in the CRM: the write-back is a dead letter/);
  assert.match(out, /HubSpot reported \d+ of Hearth's own writes back; all recognised as echoes/);
  assert.match(out, /The loyalty platform received 8 signed address\.corrected webhooks/);
  assert.match(out, /Reconciliation run run_\w+ compared \d+ CRM records: drift address 1 /);
  assert.match(out, /order #3001 from m\.garcia@work\.example\.com .*: [1-9]\d* pair\(s\) wait in the identity review/);
  assert.match(out, /console\s+http:\/\/127\.0\.0\.1:\d+\//);
  // Issue 12: a Salesforce contact change over the CDC subscriber, with its measured arrival time.
  const cdc =
    /ada\.byron@example\.com moved to .* in Lightning -> arrived over the subscriber in (\d+) ms, applied/.exec(out);
  assert.ok(cdc, out);
  assert.ok(Number(cdc[1]) < 5000, `arrived in ${cdc[1]} ms`);
  // Issue 10, finding 6: no e-mail the demo used appears in its logs (dead letters name them in vendor errors).
  const used = new Set([...DEMO_PEOPLE.map((p) => p.email), ...(out.match(EMAIL) ?? [])].map((e) => e.toLowerCase()));
  assert.ok(used.size >= DEMO_PEOPLE.length);
  const lines = logs.trim().split('\n');
  assert.ok(
    lines.some((l) => /"msg":"incoming request"/.test(l)),
    logs,
  );
  assert.ok(
    lines.some((l) => /job dead-lettered/.test(l)),
    logs,
  );
  const leaked = [...used].filter((e) => logs.toLowerCase().includes(e));
  assert.deepEqual(leaked, [], 'e-mails in the demo logs');
  assert.doesNotMatch(logs, EMAIL);
});

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
