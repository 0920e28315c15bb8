import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CONNECTORS } from '../connectors/registry.ts';
import { configReference } from './reference.ts';

test('docs/config-reference.md is the reference generated from the schema (npm run docs:config)', () => {
  const doc = readFileSync(new URL('../../docs/config-reference.md', import.meta.url), 'utf8');
  assert.equal(doc, configReference(CONNECTORS), 'stale: run npm run docs:config');
});

test('the reference has a row per key with type, default and description', () => {
  const ref = configReference(CONNECTORS);
  assert.match(ref, /\| `server\.port` \| integer \(0\.\.65535\) \| `4000` \| Port of the HTTP server/);
  assert.match(
    ref,
    /\| `jobs\.max_attempts` \| integer \(1\.\.\) \| `8` \| Attempts before a job becomes a dead letter/,
  );
  for (const d of CONNECTORS) assert.match(ref, new RegExp(`\\| \`connectors\\.${d.name}\` \\|`));
});
