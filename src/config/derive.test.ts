import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from './loader.ts';
import { householdEngineContext, idpTargetsOf } from './derive.ts';

test('households config: defaults, and a source that is not configured is a clear error', () => {
  const cfg = parseConfig({ connectors: { hubspot: { access_token: 't' } }, households: { source: 'hubspot' } });
  assert.deepEqual(cfg.households, {
    source: 'hubspot',
    hubspot_mode: 'company',
    opt_in_property: 'points_aggregation_opt_in',
    head_labels: ['Head of household', 'Primary contact'],
    member_labels: ['Household member'],
    page_size: 100,
  });
  assert.deepEqual(householdEngineContext(cfg), {
    source: 'hubspot',
    opt_in_property: 'points_aggregation_opt_in',
    idp: idpTargetsOf(cfg),
  });
  assert.equal(householdEngineContext(parseConfig({})), null);
  assert.throws(
    () => parseConfig({ households: { source: 'salesforce' } }),
    /households\.source: connector "salesforce" is not configured/,
  );
  assert.throws(
    () =>
      parseConfig({
        connectors: { hubspot: { access_token: 't' } },
        households: { source: 'hubspot', hubspot_mode: 'spouses' },
      }),
    /households\.hubspot_mode/,
  );
});
