import assert from 'node:assert/strict';
import { test } from 'node:test';
import { webhookConnector } from './descriptor.ts';
import { EVENT_VERSIONS, LATEST_SCHEMA_VERSION, shapeEvent, versionFor } from './versions.ts';

const enrichedV2 = {
  id: 'ev-1.order.loyalty',
  type: 'order.enriched',
  created_at: '2026-01-01T00:00:00.000Z',
  data: {
    order: { id: '9', name: '#9', total_minor: 12_050, currency: 'USD', line_count: 1 },
    customer: { id: 'cus_1', email: null, external_id: '7' },
    household_id: 'hh_1',
    hierarchy_role: 'member',
    points_aggregation_opt_in: true,
    tier: { name: 'gold', basis: 'household', basis_id: 'hh_1' },
    loyalty: { account_id: 'hh_1', points_earned: 120, balance: 300 },
  },
};

test('a subscriber pinned to 1 gets order.enriched as version 1, byte for byte; unpinned gets the latest', () => {
  const v1 = shapeEvent(enrichedV2, 1);
  assert.equal(
    JSON.stringify(v1),
    JSON.stringify({
      id: 'ev-1.order.loyalty',
      type: 'order.enriched',
      schema_version: 1,
      created_at: '2026-01-01T00:00:00.000Z',
      data: {
        order: { id: '9', name: '#9', total: 120.5, currency: 'USD', line_count: 1 },
        customer: { id: 'cus_1', email: null, external_id: '7' },
        household_id: 'hh_1',
        hierarchy_role: 'member',
        points_aggregation_opt_in: true,
        tier: 'gold',
        loyalty: { account_id: 'hh_1', points_earned: 120, balance: 300 },
      },
    }),
  );
  assert.deepEqual(shapeEvent(enrichedV2), { ...enrichedV2, schema_version: 2 });
  assert.deepEqual(shapeEvent(enrichedV2, 2), { ...enrichedV2, schema_version: 2 });
  const noTier = shapeEvent({ ...enrichedV2, data: { ...enrichedV2.data, tier: null } }, 1);
  assert.equal(noTier.data.tier, null);
});

test('versions are global: a type is sent in its newest version up to the pin', () => {
  assert.equal(versionFor('order.enriched'), 2);
  assert.equal(versionFor('order.enriched', 1), 1);
  assert.equal(versionFor('tier.changed', 2), 1);
  assert.equal(versionFor('tier.changed'), 1);
  const tier = { id: 't', type: 'tier.changed', created_at: '2026-01-01T00:00:00.000Z', data: { tier: 'gold' } };
  assert.deepEqual(shapeEvent(tier, 2), { ...tier, schema_version: 1 });
  assert.equal(Math.max(...Object.values(EVENT_VERSIONS).flat()), LATEST_SCHEMA_VERSION);
});

test('config: schema_version is optional, a whole number from 1 to the latest', () => {
  const t = (schema_version?: unknown) => ({
    targets: [{ name: 'loyalty', url: 'https://x.example/h', secret: 'whsec_12345678', schema_version }],
  });
  assert.equal(webhookConnector.config.safeParse(t()).success, true);
  assert.equal(webhookConnector.config.safeParse(t(1)).success, true);
  for (const bad of [0, 1.5, LATEST_SCHEMA_VERSION + 1, '1']) {
    const r = webhookConnector.config.safeParse(t(bad));
    assert.equal(r.success, false, `schema_version ${JSON.stringify(bad)} is refused`);
  }
  const r = webhookConnector.config.safeParse(t(LATEST_SCHEMA_VERSION + 1));
  assert.match(r.error!.issues[0]!.message, /go up to 2/);
});
