import type { IncomingMessage, ServerResponse } from 'node:http';
import Stripe from 'stripe';
import { createFaults, delay, type Faults } from './faults.ts';
import { listen, readBody, sendJson } from './http.ts';

export type StripeSimCustomer = {
  id: string;
  object: 'customer';
  email: string | null;
  name: string | null;
  phone: string | null;
  address: Record<string, string | null> | null;
  shipping: { name: string | null; phone: string | null; address: Record<string, string | null> } | null;
  metadata: Record<string, string>;
  created: number;
};

export interface StripeEventBody {
  id: string;
  object: 'event';
  type: string;
  created: number;
  api_version: string;
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
}

export interface StripeSim {
  url: string;
  apiKey: string;
  customers: Map<string, StripeSimCustomer>;
  /** Successful API updates, with the idempotency key each carried. */
  updates: { id: string; key: string | null; params: Record<string, unknown> }[];
  /** Requests answered from the idempotency store (a replay, not a second write). */
  readonly replays: number;
  /** Customer searches answered (`GET /v1/customers/search`). */
  readonly searches: number;
  createCustomer(fields: Partial<StripeSimCustomer>): StripeSimCustomer;
  /**
   * An event as Stripe would send it (`created` defaults to now, in seconds). A `customer.updated`
   * carries `data.previous_attributes` as Stripe's does: the attributes that differ from the
   * customer the simulator holds, with their old values (of a nested hash, the changed keys only),
   * and the simulator then holds the new state; `previous` gives them instead (`null`: none sent).
   */
  event(
    type: string,
    object: Record<string, unknown>,
    o?: { created?: number; key?: string | null; previous?: Record<string, unknown> | null },
  ): StripeEventBody;
  faults: Faults;
  close(): Promise<void>;
}

let signer: Stripe | undefined;

/** A `Stripe-Signature` header, made by the official SDK (several secrets: several `v1`, as during a roll). */
export function stripeSignature(payload: string, secrets: readonly string[], timestamp?: number): string {
  // One SDK instance for every signature: building one per call made a load generator CPU-bound.
  signer ??= new Stripe('sk_test_signing');
  const sdk = signer;
  const t = timestamp ?? Math.floor(Date.now() / 1000);
  const v1 = secrets.map((secret) => sdk.webhooks.generateTestHeaderString({ payload, secret, timestamp: t }));
  return [`t=${t}`, ...v1.map((h) => h.split(',').find((p) => p.startsWith('v1='))!)].join(',');
}

/** Posts a signed Stripe event to Hearth (as Stripe's webhook delivery does). */
export function sendStripeEvent(
  url: string,
  event: StripeEventBody,
  secrets: readonly string[],
  timestamp?: number,
): Promise<Response> {
  const body = JSON.stringify(event);
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignature(body, secrets, timestamp) },
    body,
  });
}

/**
 * The order a webhook sender delivers `items` in, as Stripe warns it may: shuffled (seeded, so a
 * test is repeatable) and with about `duplicates` (0..1) of them sent twice, the copy later on.
 */
export function disorderly<T>(items: readonly T[], o: { seed?: number; duplicates?: number } = {}): T[] {
  let x = (o.seed ?? 1) >>> 0 || 1;
  const rand = () => {
    // xorshift32: small, seeded, good enough for a delivery order.
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
  const out = [...items];
  for (const item of items) if (rand() < (o.duplicates ?? 0)) out.push(item);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Delivers events out of order and some twice (see `disorderly`), one at a time; the statuses in send order. */
export async function sendStripeEventsDisorderly(
  url: string,
  events: readonly StripeEventBody[],
  secrets: readonly string[],
  o: { seed?: number; duplicates?: number } = {},
): Promise<{ sent: StripeEventBody[]; statuses: number[] }> {
  const sent = disorderly(events, o);
  const statuses: number[] = [];
  for (const ev of sent) statuses.push((await sendStripeEvent(url, ev, secrets)).status);
  return { sent, statuses };
}

/** `a[b][c]=v` form fields as a nested object (Stripe's form encoding). */
export function parseForm(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const path = key.split(/\[|\]\[|\]/).filter(Boolean);
    let at = out;
    for (const p of path.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
    at[path.at(-1)!] = value;
  }
  return out;
}

const isHash = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Stripe's `previous_attributes`: each attribute of `after` that differs from `before`, with its
 * old value; of a hash both sides hold (address, metadata), only the changed keys (a new key's
 * old value is null, as Stripe reports an added metadata key).
 */
export function previousAttributes(before: Record<string, unknown>, after: Record<string, unknown>) {
  const out: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const [old, now] = [before[key] ?? null, after[key] ?? null];
    if (JSON.stringify(old) === JSON.stringify(now)) continue;
    if (isHash(old) && isHash(now)) out[key] = previousAttributes(old, now);
    else out[key] = old;
  }
  return out;
}

const stripeError = (type: string, message: string, code?: string) => ({
  error: { type, message, ...(code ? { code } : {}) },
});

/**
 * A Stripe API subset over loopback for the official SDK: customers create / retrieve / update
 * (form-encoded, metadata merged, '' deletes a key) / list by email; `Idempotency-Key` stored
 * and replayed (a different body under one key is a 400 `idempotency_error`); Bearer auth;
 * faults: 429 `rate_limit` and 500 `api_error` with `Stripe-Should-Retry`, dropped sockets.
 */
export async function startStripeSim(opts: { port?: number; apiKey?: string } = {}): Promise<StripeSim> {
  const apiKey = opts.apiKey ?? 'sk_test_hearth';
  const customers = new Map<string, StripeSimCustomer>();
  const updates: StripeSim['updates'] = [];
  const stored = new Map<string, { body: string; status: number; response: unknown }>();
  const faults = createFaults();
  let replays = 0;
  let searches = 0;
  let seq = 0;

  function createCustomer(fields: Partial<StripeSimCustomer>): StripeSimCustomer {
    const c: StripeSimCustomer = {
      id: fields.id ?? `cus_sim${String(++seq).padStart(6, '0')}`,
      object: 'customer',
      email: null,
      name: null,
      phone: null,
      address: null,
      shipping: null,
      metadata: {},
      created: Math.floor(Date.now() / 1000),
      ...fields,
    };
    customers.set(c.id, c);
    return c;
  }

  function update(c: StripeSimCustomer, params: Record<string, unknown>): StripeSimCustomer {
    // As Stripe: an empty string unsets the attribute.
    for (const k of ['name', 'phone', 'email'] as const)
      if (typeof params[k] === 'string') c[k] = (params[k] as string) || null;
    if (params.shipping) c.shipping = params.shipping as StripeSimCustomer['shipping'];
    if (params.address) c.address = params.address as StripeSimCustomer['address'];
    for (const [k, v] of Object.entries((params.metadata ?? {}) as Record<string, string>)) {
      if (v === '') delete c.metadata[k];
      else c.metadata[k] = v;
    }
    return c;
  }

  /** Customer search, the subset Hearth uses: `email:'a' OR email:'b'` (at most 10 clauses), exact match. */
  function search(url: URL): { status: number; body: unknown } {
    searches++;
    const query = url.searchParams.get('query') ?? '';
    const clauses = query.split(' OR ');
    const emails = clauses.map((c) => /^email:'([^'\\]*)'$/.exec(c.trim())?.[1]);
    if (clauses.length > 10 || emails.some((e) => e === undefined))
      return { status: 400, body: stripeError('invalid_request_error', `Invalid search query: ${query}`) };
    const wanted = new Set(emails);
    const limit = Number(url.searchParams.get('limit') ?? 10);
    const data = [...customers.values()].filter((c) => c.email !== null && wanted.has(c.email)).slice(0, limit);
    return {
      status: 200,
      body: { object: 'search_result', data, has_more: false, next_page: null, url: '/v1/customers/search' },
    };
  }

  function route(req: IncomingMessage, text: string): { status: number; body: unknown } {
    const url = new URL(req.url ?? '/', 'http://sim');
    if (url.pathname === '/v1/customers/search' && req.method === 'GET') return search(url);
    const m = /^\/v1\/customers(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m)
      return { status: 404, body: stripeError('invalid_request_error', `Unrecognized request URL (${url.pathname})`) };
    const id = m[1];
    if (!id && req.method === 'GET') {
      const email = url.searchParams.get('email');
      const limit = Number(url.searchParams.get('limit') ?? 10);
      const all = [...customers.values()].filter((c) => !email || c.email === email);
      const after = url.searchParams.get('starting_after');
      const from = after ? all.findIndex((c) => c.id === after) + 1 : 0;
      const data = all.slice(from, from + limit);
      return { status: 200, body: { object: 'list', data, has_more: from + limit < all.length, url: '/v1/customers' } };
    }
    if (!id && req.method === 'POST')
      return { status: 200, body: createCustomer(parseForm(text) as Partial<StripeSimCustomer>) };
    const c = id ? customers.get(id) : undefined;
    if (!c)
      return {
        status: 404,
        body: stripeError('invalid_request_error', `No such customer: '${id}'`, 'resource_missing'),
      };
    if (req.method === 'GET') return { status: 200, body: c };
    if (req.method === 'DELETE') {
      const reject = faults.plan.reject_delete;
      if (reject) return { status: reject.status, body: stripeError('invalid_request_error', reject.message) };
      customers.delete(c.id);
      return { status: 200, body: { id: c.id, object: 'customer', deleted: true } };
    }
    const params = parseForm(text);
    updates.push({ id: c.id, key: (req.headers['idempotency-key'] as string | undefined) ?? null, params });
    return { status: 200, body: update(c, params) };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    await delay(faults.plan);
    const fault = faults.next();
    if (fault === 'drop') return void req.socket.destroy();
    // Front-door refusals are not stored under the idempotency key: a retry may succeed.
    if (fault === 'rate_limit')
      return sendJson(res, 429, stripeError('invalid_request_error', 'Too many requests', 'rate_limit'), {
        'stripe-should-retry': 'true',
        'request-id': `req_${Date.now()}`,
      });
    if (fault === 'server_error')
      return sendJson(res, 500, stripeError('api_error', 'An unknown error occurred'), {
        'stripe-should-retry': 'true',
      });
    if (req.headers.authorization !== `Bearer ${apiKey}`)
      return sendJson(res, 401, stripeError('invalid_request_error', 'Invalid API Key provided'));
    const key = req.method === 'POST' ? (req.headers['idempotency-key'] as string | undefined) : undefined;
    const prior = key ? stored.get(key) : undefined;
    if (prior && prior.body !== text)
      return sendJson(
        res,
        400,
        stripeError('idempotency_error', 'Keys for idempotent requests can only be used with the same parameters'),
      );
    if (prior) {
      replays++;
      return sendJson(res, prior.status, prior.response, { 'idempotent-replayed': 'true' });
    }
    const out = route(req, text);
    if (key) stored.set(key, { body: text, status: out.status, response: out.body });
    sendJson(res, out.status, out.body, { 'request-id': `req_${Date.now()}` });
  }

  /** The old values of what `object` changes on the customer held (null: a customer it does not hold). */
  function diffCustomer(object: Record<string, unknown>): Record<string, unknown> | null {
    const held = typeof object.id === 'string' ? customers.get(object.id) : undefined;
    if (!held) return null;
    const previous = previousAttributes(held as unknown as Record<string, unknown>, object);
    customers.set(held.id, structuredClone(object) as unknown as StripeSimCustomer);
    return previous;
  }

  const server = await listen(handle, opts.port);
  let evt = 0;
  return {
    url: server.url,
    apiKey,
    customers,
    updates,
    get replays() {
      return replays;
    },
    get searches() {
      return searches;
    },
    createCustomer,
    event: (type, object, o = {}) => {
      const previous = o.previous === undefined && type === 'customer.updated' ? diffCustomer(object) : o.previous;
      return {
        id: `evt_sim${String(++evt).padStart(8, '0')}`,
        object: 'event',
        type,
        created: o.created ?? Math.floor(Date.now() / 1000),
        api_version: '2026-07-29.dahlia',
        data: { object: structuredClone(object), ...(previous ? { previous_attributes: previous } : {}) },
        livemode: false,
        pending_webhooks: 1,
        request: { id: o.key ? `req_${evt}` : null, idempotency_key: o.key ?? null },
      };
    },
    faults,
    close: server.close,
  };
}
