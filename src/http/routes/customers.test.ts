import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { parseConfig } from '../../config/loader.ts';
import { describeEachDialect } from '../../../test-support/dialects.ts';
import { createLogger } from '../../log.ts';
import { createMetrics } from '../../metrics.ts';
import { buildApp } from '../app.ts';

const KEY = 'hk_customers_test';
const people = [
  ['cus_01', 'Maria', 'Garcia', 'maria.garcia@example.com', '+13125550101', '60614'],
  ['cus_02', 'Mario', 'Rossi', 'mrossi@example.com', '+13125550102', '60601'],
  ['cus_03', 'Ana', 'Garcia', 'ana@example.org', '+17735550103', '10001'],
  ['cus_04', 'Bo', 'Chen', 'bo@example.org', '+12125550104', '10002'],
  ['cus_05', 'Old', 'Merged', 'maria.garcia@example.com', null, '60614'],
] as const;

describeEachDialect('GET /v1/customers: list and search with cursor paging', (ctx) => {
  let app: FastifyInstance;
  before(async () => {
    const config = parseConfig({ log: { level: 'silent' } }, { HEARTH_API_KEY: KEY });
    const db = ctx.hdb().db;
    for (const [id, given, family, email, phone, zip] of people) {
      await db
        .insertInto('customers')
        .values({
          id,
          given_name: given,
          family_name: family,
          email,
          email_normalized: email,
          phone,
          address_line1: '1 Main St',
          address_line2: null,
          city: 'Chicago',
          region: 'IL',
          postal_code: zip,
          country: 'US',
          address_key: null,
          address_source: null,
          address_validated_at: null,
          field_sources: '{}',
          merged_into: id === 'cus_05' ? 'cus_01' : null,
          version: 1,
          created_at: 1,
          updated_at: 1,
        })
        .execute();
    }
    app = await buildApp({
      config,
      hdb: ctx.hdb(),
      connectors: {},
      metrics: createMetrics(),
      logger: createLogger('silent'),
      strictResponses: true,
    });
  });
  after(() => app.close());
  const get = async (url: string) => {
    const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { data: { id: string }[]; next_after: string | null };
  };
  const ids = (p: { data: { id: string }[] }) => p.data.map((c) => c.id);

  test('without a search it lists live customers in pages that chain through next_after', async () => {
    const first = await get('/v1/customers?limit=3');
    assert.deepEqual(ids(first), ['cus_01', 'cus_02', 'cus_03']);
    assert.equal(first.next_after, 'cus_03');
    const second = await get(`/v1/customers?limit=3&after=${first.next_after}`);
    assert.deepEqual(ids(second), ['cus_04']);
    assert.equal(second.next_after, null);
  });

  test('q matches name, e-mail, phone and postcode; every word must match', async () => {
    assert.deepEqual(ids(await get('/v1/customers?q=garcia')), ['cus_01', 'cus_03']);
    assert.deepEqual(ids(await get('/v1/customers?q=maria%20garcia')), ['cus_01']);
    assert.deepEqual(ids(await get('/v1/customers?q=mrossi@')), ['cus_02']);
    assert.deepEqual(ids(await get('/v1/customers?q=(773)%20555-0103')), ['cus_03'], 'a phone as people type it');
    assert.deepEqual(ids(await get('/v1/customers?q=7735550103')), ['cus_03']);
    assert.deepEqual(ids(await get('/v1/customers?q=1000')), ['cus_03', 'cus_04']);
    assert.deepEqual(ids(await get('/v1/customers?q=100%25')), ['cus_03', 'cus_04'], 'a % is taken literally');
  });

  test('email finds the exact address, ignoring case; a bad limit is a 400 naming it', async () => {
    assert.deepEqual(ids(await get('/v1/customers?email=Maria.Garcia@Example.com')), ['cus_01']);
    const bad = await app.inject({
      method: 'GET',
      url: '/v1/customers?limit=0',
      headers: { authorization: `Bearer ${KEY}` },
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error.message, /limit/);
  });
});
