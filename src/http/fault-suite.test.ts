import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import { buildOrder, buildRefund } from '../../sim/shopify.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { eventually, SHOPIFY_SECRET, startTestHearth } from '../../test-support/harness.ts';
import { hubspotHeaders, relayHeaders, SIGNED_CONNECTORS } from '../../test-support/signers.ts';
import type { Hearth } from '../runtime.ts';

// Issue 10, fault suite: a seeded fuzz run of hostile webhook deliveries against the real app.
// Every answer is < 500, a rejected request stores nothing (the inbox grows by exactly the
// accepted counts of the 200s), and everything that was accepted applies: no inbox event fails.
const SEED = Number(process.env.HEARTH_FUZZ_SEED ?? 20261201);
const REQUESTS = Number(process.env.HEARTH_FUZZ_REQUESTS ?? 1000);

type Rng = () => number;

/** mulberry32: small, seedable, good enough to pick cases. */
function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const deep = (n: number): unknown => {
  let v: unknown = 'x';
  for (let i = 0; i < n; i++) v = [v];
  return v;
};

const HOSTILE: (() => unknown)[] = [
  () => 'x',
  () => '',
  () => '\u0000',
  () => 'An\u0000n',
  () => 1e20,
  () => 1e17,
  () => -1,
  () => 1.005,
  () => true,
  () => null,
  () => [],
  () => [null],
  () => ({}),
  () => ({ a: 1 }),
  () => ['a'],
  () => '9'.repeat(30),
  () => 'y'.repeat(3000),
  () => '<script>alert(1)</script>',
  () => '🏠🏠',
  () => '9999-12-31T00:00:00Z',
  () => '-271821-04-20T00:00:00Z',
  () => deep(40),
  () => Number.MAX_SAFE_INTEGER + 2,
];

/** A valid body for one of the connectors, unique by `i`. */
function validBody(r: Rng, vendor: string, i: number): { topic?: string; body: unknown } {
  if (vendor === 'hubspot')
    return {
      body: [
        {
          eventId: 700_000 + i,
          occurredAt: Date.now(),
          subscriptionType: 'contact.propertyChange',
          objectId: 900 + (i % 50),
          propertyName: pick(r, ['city', 'firstname', 'address', 'zip', 'phone', 'email']),
          propertyValue: pick(r, ['Springfield', 'Ann', '12 Oak Avenue', '62701', '+13125551212', `f${i}@example.com`]),
          changeSource: 'CRM_UI',
          sourceId: 'userId:1',
        },
      ],
    };
  if (vendor === 'salesforce')
    return {
      body: {
        replayId: 500_000 + i,
        ChangeEventHeader: {
          entityName: 'Contact',
          recordIds: [`003FZ${String(i % 40).padStart(10, '0')}`],
          changeType: 'UPDATE',
          changeOrigin: 'com/salesforce/api/soap/62.0;client=SfdcInternalAPI/',
          commitTimestamp: Date.now(),
          nulledFields: [],
        },
        MailingAddress: { Street: '12 Oak Avenue', City: 'Springfield', State: 'IL', PostalCode: '62701' },
        Email: `s${i % 40}@example.com`,
      },
    };
  const topic = pick(r, ['orders/create', 'orders/create', 'customers/update', 'refunds/create', 'orders/cancelled']);
  if (topic === 'refunds/create') return { topic, body: buildRefund(60_000 + i, 50_000 + (i % 30), '5.00') };
  if (topic === 'customers/update')
    return {
      topic,
      body: { id: 40_000 + (i % 30), email: `c${i % 30}@example.com`, first_name: 'Cy', last_name: 'Lo', phone: null },
    };
  const order = buildOrder({
    order_id: 50_000 + i,
    customer_id: 40_000 + (i % 30),
    email: `c${i % 30}@example.com`,
    first_name: 'Cy',
    last_name: 'Lo',
    address1: `${1 + (i % 90)} Oak Avenue`,
    city: 'Springfield',
    province_code: 'IL',
    zip: '62701',
    total_price: `${i % 500}.99`,
  });
  return { topic, body: order };
}

/** Sets a random leaf or branch of `body` to a hostile value, or deletes it. */
function mutate(r: Rng, body: unknown): unknown {
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]) => {
    if (path.length > 0) paths.push(path);
    if (Array.isArray(v)) v.forEach((x, k) => walk(x, [...path, k]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(body, []);
  const copy = structuredClone(body) as Record<string | number, unknown>;
  for (let n = 1 + Math.floor(r() * 3); n > 0 && paths.length > 0; n--) {
    const path = pick(r, paths);
    let parent: Record<string | number, unknown> = copy;
    for (const k of path.slice(0, -1)) parent = (parent?.[k] ?? {}) as Record<string | number, unknown>;
    if (typeof parent !== 'object' || parent === null) continue;
    const key = path[path.length - 1]!;
    if (r() < 0.1) delete parent[key];
    else parent[key] = pick(r, HOSTILE)();
  }
  return copy;
}

function truncate(r: Rng, text: string): string {
  return text.slice(0, Math.floor(r() * text.length));
}

function randomBytes(r: Rng): Buffer {
  const b = Buffer.alloc(1 + Math.floor(r() * 400));
  for (let k = 0; k < b.length; k++) b[k] = Math.floor(r() * 256);
  return b;
}

interface Delivery {
  url: string;
  headers: Record<string, string>;
  payload: Buffer;
}

function sign(vendor: string, topic: string | undefined, payload: Buffer, i: number): Record<string, string> {
  const text = payload.toString('utf8');
  if (vendor === 'hubspot') return hubspotHeaders(text);
  if (vendor === 'salesforce') return relayHeaders(text);
  return {
    'content-type': 'application/json',
    'x-shopify-topic': topic ?? 'orders/create',
    'x-shopify-event-id': `fz-${i}`,
    'x-shopify-hmac-sha256': createHmac('sha256', SHOPIFY_SECRET).update(payload).digest('base64'),
  };
}

/** One hostile delivery, chosen by the seed. */
function delivery(r: Rng, i: number): Delivery {
  const vendor = pick(r, ['shopify', 'shopify', 'hubspot', 'salesforce']);
  const { topic, body } = validBody(r, vendor, i);
  const kind = pick(r, [
    'mutated',
    'mutated',
    'mutated',
    'valid',
    'bytes',
    'truncated',
    'deep',
    'badsig',
    'nosig',
    'oversize',
  ]);
  let payload: Buffer;
  if (kind === 'bytes') payload = randomBytes(r);
  else if (kind === 'truncated') payload = Buffer.from(truncate(r, JSON.stringify(body)));
  else if (kind === 'deep') {
    const n = pick(r, [33, 200, 10_000, 50_000]);
    payload = Buffer.from(
      JSON.stringify(body).replace(/"Springfield"|"5.00"|"Cy"/, `${'['.repeat(n)}${']'.repeat(n)}`),
    );
  } else if (kind === 'oversize')
    payload = Buffer.from(JSON.stringify({ ...(body as object), pad: 'x'.repeat(70_000) }));
  else payload = Buffer.from(JSON.stringify(kind === 'valid' ? body : mutate(r, body)));
  const headers = sign(vendor, topic, payload, i);
  if (kind === 'badsig') {
    const [name] = Object.keys(headers).filter((h) => /hmac|signature/.test(h));
    headers[name!] = kind === 'badsig' && r() < 0.5 ? 'sha256=00' : `${headers[name!]!.slice(0, -4)}AAA=`;
  }
  if (kind === 'nosig') for (const h of Object.keys(headers)) if (/hmac|signature/.test(h)) delete headers[h];
  return { url: `/webhooks/${vendor}`, headers, payload };
}

describeEachDialect('fault suite: seeded hostile webhooks never make a 5xx and store nothing when rejected', (ctx) => {
  let hearth: Hearth;
  const db = () => ctx.hdb().db;
  const inboxSize = async () => (await db().selectFrom('inbox_events').select('id').execute()).length;

  before(async () => {
    ({ hearth } = await startTestHearth(ctx, { connectors: SIGNED_CONNECTORS }));
  });
  after(() => hearth.close());

  const kinds =
    'random bytes, truncated and deep JSON, wrong types, NUL, huge numbers, bad/absent signatures, oversize';
  test(`${REQUESTS} deliveries (seed ${SEED}): ${kinds}`, async () => {
    const r = rng(SEED);
    const before = await inboxSize();
    const statuses = new Map<number, number>();
    const fivexx: string[] = [];
    let accepted = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const d = delivery(r, i);
      const res = await hearth.app.inject({ method: 'POST', url: d.url, headers: d.headers, payload: d.payload });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode >= 500) fivexx.push(`#${i} ${d.url} ${res.body} ${d.payload.toString('utf8').slice(0, 300)}`);
      if (res.statusCode === 200) accepted += (res.json() as { accepted: number }).accepted;
      else assert.ok([400, 401, 413, 415].includes(res.statusCode), `#${i}: ${res.statusCode} ${res.body}`);
    }
    assert.deepEqual(fivexx, []);
    // Every kind of answer was exercised (the seed is not degenerate).
    for (const code of [200, 400, 401, 413]) assert.ok((statuses.get(code) ?? 0) > 0, JSON.stringify([...statuses]));
    assert.equal((await inboxSize()) - before, accepted, 'rejected deliveries stored nothing');
    // What passed ingress applies on this dialect: nothing is left pending, nothing failed.
    await eventually(
      async () =>
        !(await db().selectFrom('inbox_events').select('id').where('status', '=', 'pending').executeTakeFirst()),
      60_000,
      'inbox drained',
    );
    const failed = await db()
      .selectFrom('inbox_events')
      .select(['delivery_id', 'error'])
      .where('status', '=', 'failed')
      .execute();
    assert.deepEqual(failed, []);
  });
});
