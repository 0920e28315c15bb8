import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { CLIENT_TYPES, generateClientTypes } from './console-client-gen.ts';
import type { paths } from '../console/api-types.ts';

test("the console's generated API client (src/console/api-types.ts) matches the OpenAPI document", async () => {
  const [fresh, committed] = await Promise.all([generateClientTypes(), readFile(CLIENT_TYPES, 'utf8')]);
  assert.ok(fresh === committed, 'src/console/api-types.ts is stale: run `npm run gen:client` and commit it');
  // The routes the console is built on are in it (a type-level check too: these keys must exist).
  const used: (keyof paths)[] = [
    '/v1/customers',
    '/v1/customers/{id}',
    '/v1/customers/{id}/fields',
    '/v1/customers/{id}/systems',
    '/v1/households',
    '/v1/households/{id}',
    '/v1/writeback/lag',
    '/v1/writeback/late',
    '/v1/jobs/{id}/retry',
    '/v1/review',
    '/v1/reconcile/scorecard',
    '/v1/connectors/status',
  ];
  for (const p of used) assert.ok(committed.includes(`"${p}"`), `${p} in the generated client`);
});
