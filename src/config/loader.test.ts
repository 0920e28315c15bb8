import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfig } from './loader.ts';
import { markRefs, substituteValues } from './substitute.ts';

/** The precedence the shipped descriptors' ranks must produce (checkout outranks the CRM for addresses). */
const DEFAULT_OWNERSHIP = {
  given_name: ['hubspot', 'salesforce', 'zoho', 'api', 'shopify', 'stripe', 'zendesk'],
  family_name: ['hubspot', 'salesforce', 'zoho', 'api', 'shopify', 'stripe', 'zendesk'],
  email: ['hubspot', 'salesforce', 'zoho', 'api', 'shopify', 'stripe'],
  // A support agent's phone correction outranks the CRM's; billing's phone ranks below the CRMs.
  phone: ['shopify', 'zendesk', 'hubspot', 'salesforce', 'zoho', 'stripe', 'api'],
  address: ['shopify', 'api', 'hubspot', 'salesforce', 'zoho'],
  // Billing fields are Stripe's (no API writer); support is only projected them.
  billing_address: ['stripe'],
  billing_status: ['stripe'],
  subscriptions: ['stripe'],
};

const dir = mkdtempSync(join(tmpdir(), 'hearth-config-'));

test('defaults match the documented contract', () => {
  const c = parseConfig({});
  assert.equal(c.database, 'sqlite:./data/hearth.db');
  assert.deepEqual(c.server, {
    host: '127.0.0.1',
    port: 4000,
    body_limit_bytes: 1_048_576,
    api_body_limit_bytes: 262_144,
    rate_limit_per_minute: 1200,
    cors_origins: [],
  });
  assert.deepEqual(c.addresses.plausibility, { street_letters: true, emoji: true, markup: true, region_format: true });
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
  assert.throws(
    () => substituteValues({ a: markRefs('${NOPE}') }, {}, 'x.yaml'),
    /x\.yaml: environment variable NOPE is not set/,
  );
  assert.throws(() => parseConfig({ server: { port: 'eighty' } }), /config server\.port: /);
  assert.throws(
    () => parseConfig({ writeback: { crm: 'hubspot' } }),
    /writeback\.crm: connector "hubspot" is not configured/,
  );
  assert.throws(() => parseConfig({ writeback: { crm: 'sap' } }), /config writeback\.crm/);
  assert.throws(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} }), /missing\.yaml: ENOENT/);
});

test('parsed first, then ${VAR} in values only: a secret with # and ": " stays whole; comments untouched', () => {
  const file = join(dir, 'secret.yaml');
  writeFileSync(
    file,
    `# set \${NOT_SET} in production
server: { port: \${PORT} }
connectors:
  shopify: { webhook_secret: "\${SECRET}" }
`,
  );
  const c = loadConfig({ file, env: { SECRET: 'a#b: c', PORT: '4300' } });
  assert.equal(c.connectors.shopify?.webhook_secret, 'a#b: c');
  assert.equal(c.server.port, 4300);
});

test('unknown keys are an error naming the key and the nearest known one', () => {
  assert.throws(() => parseConfig({ sever: { port: 1 } }), /config sever: unknown key; did you mean server\?/);
  assert.throws(
    () => parseConfig({ jobs: { max_atempts: 3 } }),
    /config jobs\.max_atempts: unknown key; did you mean jobs\.max_attempts\?/,
  );
  assert.throws(
    () => parseConfig({ connectors: { shopify: { webhook_secret: 's', webook_secret: 't' } } }),
    /config connectors\.shopify\.webook_secret: unknown key; did you mean connectors\.shopify\.webhook_secret\?/,
  );
  assert.throws(() => parseConfig({ connectors: { shopifx: {} } }), /did you mean connectors\.shopify\?/);
  assert.throws(() => parseConfig({ zzzzzz: 1 }), /config zzzzzz: unknown key; known: database, server/);
});
