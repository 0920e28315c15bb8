import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../main.ts';

test('hearth demo --once: card failure to Zendesk, agent phone to HubSpot, status edit is a finding', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-demo-billing-'));
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (c) => (out += c));
  const code = await main(['demo', '--once', '--port', '0', '--db', `sqlite:${join(dir, 'demo.db')}`], {
    stdin: new PassThrough(),
    stdout,
    stderr: new PassThrough(),
    env: {},
    isTTY: false,
  });
  assert.equal(code, 0, out);
  assert.doesNotMatch(out, /billing scene stopped/);
  assert.match(
    out,
    new RegExp(
      String.raw`invoice\.payment_failed for maria\.garcia@example\.com \(signed\) -> Hearth 200; ` +
        String.raw`.* Zendesk user \d+ shows billing_status: past_due after \d+ ms`,
    ),
  );
  assert.match(
    out,
    new RegExp(
      String.raw`corrected maria\.garcia@example\.com's phone to \+13125550177 .* -> Hearth 200; ` +
        String.raw`HubSpot contact \S+ has phone \+13125550177 after \d+ ms`,
    ),
  );
  assert.match(out, /set billing_status: active -> Hearth 200; not applied .* open finding drf_\S+: Hearth past_due/);
});
