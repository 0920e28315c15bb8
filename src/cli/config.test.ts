import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureIo } from '../../test-support/test-io.ts';
import { main } from '../main.ts';

const dir = mkdtempSync(join(tmpdir(), 'hearth-config-check-'));

test('hearth config check FILE: valid is one line and 0; a misspelt key names the nearest one, non-zero', async () => {
  const good = join(dir, 'good.yaml');
  writeFileSync(good, 'database: sqlite:./x.db\nconnectors:\n  shopify: { webhook_secret: ${SECRET} }\n');
  const ok = captureIo('', { SECRET: 's#1: x' });
  assert.equal(await main(['config', 'check', good], ok.io), 0, ok.err());
  assert.match(ok.out(), /good\.yaml: valid \(database sqlite:\.\/x\.db; connectors: shopify; write-back CRM: none\)/);

  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'sever:\n  port: 4000\n');
  const t = captureIo('');
  assert.equal(await main(['config', 'check', bad], t.io), 2);
  assert.equal(t.err(), 'hearth config: config sever: unknown key; did you mean server?\n');

  const unset = captureIo('', {});
  assert.equal(await main(['config', 'check', good], unset.io), 2);
  assert.match(unset.err(), /environment variable SECRET is not set/);
});
