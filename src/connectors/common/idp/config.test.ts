import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../config/loader.ts';
import { jobTargets } from '../../registry.ts';
import { HEARTH_SCIM_SCHEMA } from '../../scim/index.ts';

test('IdP config blocks: defaults, job targets, and a clear error for a missing secret', () => {
  const cfg = parseConfig({
    connectors: {
      scim: { base_url: 'https://idp.example.com/scim/v2', access_token: 't' },
      auth0: { domain: 'shop.eu.auth0.com', client_id: 'id', client_secret: 's' },
      keycloak: { base_url: 'https://sso.example.com', realm: 'shop', client_id: 'hearth', client_secret: 's' },
    },
  });
  assert.equal(cfg.connectors.scim!.schema_urn, HEARTH_SCIM_SCHEMA);
  assert.equal(cfg.connectors.scim!.missing_user, 'skip');
  assert.equal(cfg.connectors.auth0!.metadata_key, 'household');
  assert.equal(cfg.connectors.auth0!.require_verified_email, true);
  assert.equal(cfg.connectors.keycloak!.verify_writes, true);
  assert.deepEqual(
    jobTargets(cfg.descriptors, cfg).filter((t) => ['scim', 'auth0', 'keycloak'].includes(t)),
    ['scim', 'auth0', 'keycloak'],
  );
  assert.throws(
    () => parseConfig({ connectors: { auth0: { domain: 'x', client_id: 'id' } } }),
    /config connectors\.auth0\.client_secret/,
  );
  assert.throws(
    () =>
      parseConfig({
        connectors: { keycloak: { base_url: 'not a url', realm: 'r', client_id: 'c', client_secret: 's' } },
      }),
    /connectors\.keycloak\.base_url/,
  );
});
