import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfig, substituteEnv } from './loader.ts';

/** The precedence the shipped descriptors' ranks must produce (checkout outranks the CRM for addresses). */
const DEFAULT_OWNERSHIP = {
  given_name: ['hubspot', 'salesforce', 'zoho', 'api', 'shopify', 'stripe', 'zendesk'],
  family_name: ['hubspot', 'salesforce', 'zoho', 'api', 'shopify', 'stripe', 'zendesk'],
  email: ['hubspot', 'salesforce', 'zoho', 'api', 'shopify', 'stripe'],
  // A support agent's phone correction outranks the CRM's; billing's phone ranks below the CRMs.
  phone: ['shopify', 'zendesk', 'hubspot', 'salesforce', 'zoho', 'stripe', 'api'],
  address: ['shopify', 'api', 'hubspot', 'salesforce', 'zoho'],
};

const dir = mkdtempSync(join(tmpdir(), 'hearth-config-'));

test('defaults match the documented contract', () => {
  const c = parseConfig({});
  assert.equal(c.database, 'sqlite:./data/hearth.db');
  assert.deepEqual(c.server, { host: '127.0.0.1', port: 4000, body_limit_bytes: 1_048_576 });
  assert.deepEqual(c.writeback, { crm: null, sync_window_seconds: 60 });
  assert.deepEqual(c.ownership, DEFAULT_OWNERSHIP);
  assert.equal(c.bootstrap_api_key, undefined);
});

test('YAML with ${ENV} substitution, flags override the file, HEARTH_API_KEY is the bootstrap key', () => {
  const file = join(dir, 'hearth.yaml');
  writeFileSync(
    file,
    `database: sqlite:./x.db
server: { host: 0.0.0.0, port: 4100 }
connectors:
  shopify: { webhook_secret: \${SHOPIFY_WEBHOOK_SECRET} }
  hubspot: { access_token: \${HUBSPOT_TOKEN}, base_url: http://127.0.0.1:9999, client_secret: abc }
writeback: { crm: hubspot, sync_window_seconds: 30 }
ownership: { address: [shopify, hubspot] }
`,
  );
  const c = loadConfig({
    file,
    overrides: { port: 4200 },
    env: { SHOPIFY_WEBHOOK_SECRET: 's3', HUBSPOT_TOKEN: 'pat-1', HEARTH_API_KEY: 'hk_1' },
  });
  assert.equal(c.connectors.shopify?.webhook_secret, 's3');
  assert.equal(c.connectors.hubspot?.base_url, 'http://127.0.0.1:9999');
  assert.equal(c.server.port, 4200);
  assert.equal(c.server.host, '0.0.0.0');
  assert.equal(c.writeback.sync_window_seconds, 30);
  assert.deepEqual(c.ownership.address, ['shopify', 'hubspot']);
  assert.deepEqual(c.ownership.given_name, DEFAULT_OWNERSHIP.given_name);
  assert.equal(c.bootstrap_api_key, 'hk_1');
});

test('JSON config files work too', () => {
  const file = join(dir, 'hearth.json');
  writeFileSync(file, JSON.stringify({ database: 'postgres://u@h/db' }));
  assert.equal(loadConfig({ file, env: {} }).database, 'postgres://u@h/db');
});

test('clear errors: missing env var, bad value, unknown writeback CRM, unreadable file', () => {
  assert.throws(() => substituteEnv('a: ${NOPE}', {}, 'x.yaml'), /x\.yaml: environment variable NOPE is not set/);
  assert.throws(() => parseConfig({ server: { port: 'eighty' } }), /config server\.port: /);
  assert.throws(
    () => parseConfig({ writeback: { crm: 'hubspot' } }),
    /writeback\.crm: connector "hubspot" is not configured/,
  );
  assert.throws(() => parseConfig({ writeback: { crm: 'sap' } }), /config writeback\.crm/);
  assert.throws(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} }), /missing\.yaml: ENOENT/);
});
