import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { Validator } from '@seriousme/openapi-schema-validator';
import { parseConfig } from '../config/loader.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { createLogger } from '../log.ts';
import { createMetrics } from '../metrics.ts';
import { buildApp } from './app.ts';

type Json = Record<string, any>;
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const COMPONENT = '#/components/schemas/';

/** Every operation of the document, with its path and method. */
function operations(doc: Json): { id: string; path: string; method: string; op: Json }[] {
  const out = [];
  for (const [path, item] of Object.entries(doc.paths as Json)) {
    for (const method of METHODS)
      if (item[method]) out.push({ id: `${method} ${path}`, path, method, op: item[method] });
  }
  return out;
}

const jsonSchemaOf = (r: Json | undefined): Json | undefined => r?.content?.['application/json']?.schema;
const deref = (doc: Json, s: Json): Json =>
  typeof s.$ref === 'string' && s.$ref.startsWith(COMPONENT)
    ? doc.components.schemas[s.$ref.slice(COMPONENT.length)]
    : s;

/** What a route lacks, in words (empty when complete). */
function lacks(doc: Json, o: ReturnType<typeof operations>[number]): string[] {
  const out: string[] = [];
  const { op } = o;
  if (!op.summary) out.push('a summary');
  const responses = (op.responses ?? {}) as Json;
  const ok = Object.entries(responses).filter(([s]) => /^2\d\d$/.test(s));
  if (ok.length === 0) out.push('a 2xx response');
  for (const [status, r] of ok) {
    const schema = jsonSchemaOf(r);
    if (!schema || !JSON.stringify(schema).includes(COMPONENT))
      out.push(`a ${status} response schema built from shared components`);
  }
  const errors = Object.entries(responses).filter(([s]) => /^[45]\d\d$/.test(s));
  if (!responses['500']) out.push('the 500 error response');
  const isPublic = Array.isArray(op.security) && op.security.length === 0;
  if (!isPublic && !responses['401']) out.push('the 401 error response');
  const takesInput = (op.parameters ?? []).length > 0 || op.requestBody;
  if (takesInput && !responses['400']) out.push('the 400 error response');
  if (o.path.includes('{') && !responses['404']) out.push('the 404 error response');
  for (const [status, r] of errors) {
    if (jsonSchemaOf(r)?.$ref !== `${COMPONENT}ErrorEnvelope`) out.push(`the error envelope on ${status}`);
  }
  if (op.requestBody && !jsonSchemaOf(op.requestBody)) out.push('a request body schema');
  for (const [status, r] of ok) out.push(...pagingLacks(doc, op, status, jsonSchemaOf(r)));
  return out;
}

/** A list (an answer with a `data` array) must be the one page shape: `limit` + `after` in, `next_after` out. */
function pagingLacks(doc: Json, op: Json, status: string, schema: Json | undefined): string[] {
  if (!schema) return [];
  const s = deref(doc, schema);
  if (s.properties?.data?.type !== 'array' || s['x-not-a-list']) return [];
  const query = new Set((op.parameters ?? []).filter((p: Json) => p.in === 'query').map((p: Json) => p.name));
  const out = [];
  if (!s.properties.next_after) out.push(`next_after in the ${status} list answer`);
  if (!query.has('limit') || !query.has('after')) out.push('the limit and after query parameters of a list');
  return out;
}

describeEachDialect('OpenAPI document: complete and valid', (ctx) => {
  let app: FastifyInstance;
  let doc: Json;
  before(async () => {
    const config = parseConfig({ log: { level: 'silent' } }, { HEARTH_API_KEY: 'hk_openapi_test' });
    app = await buildApp({
      config,
      hdb: ctx.hdb(),
      connectors: {},
      metrics: createMetrics(),
      logger: createLogger('silent'),
    });
    await app.ready();
    doc = app.swagger() as Json;
  });
  after(() => app.close());

  test('every route has request and response schemas from components, its errors, and the page shape', () => {
    const ops = operations(doc);
    assert.ok(ops.length >= 30, `only ${ops.length} operations documented`);
    const missing = ops.map((o) => ({ id: o.id, lacks: lacks(doc, o) })).filter((m) => m.lacks.length > 0);
    assert.deepEqual(missing, [], 'routes lacking parts of their OpenAPI description');
  });

  test('the checker notices a route without schemas', () => {
    const bare = { path: '/v1/x/{id}', method: 'get', id: 'get /v1/x/{id}', op: { responses: {} } };
    const found = lacks(doc, bare);
    for (const part of ['a summary', 'a 2xx response', 'the 500 error response', 'the 401 error response'])
      assert.ok(found.includes(part), `expected "${part}" in ${JSON.stringify(found)}`);
  });

  test('the document validates against the OpenAPI 3 schema', async () => {
    const result = await new Validator().validate(structuredClone(doc));
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1)?.slice(0, 2000));
  });

  test('components: the error envelope and the shared shapes are named schemas', () => {
    for (const name of ['ErrorEnvelope', 'Customer', 'CustomerDetail', 'Job', 'Household', 'ReviewItem', 'Finding'])
      assert.ok(doc.components.schemas[name], `components.schemas.${name}`);
  });
});
