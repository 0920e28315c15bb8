import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen, parseJson, readBody, sendJson } from './http.ts';

/**
 * A Shopify Admin GraphQL endpoint over loopback: `POST /admin/api/<version>/graphql.json` with
 * `X-Shopify-Access-Token`, the calculated-cost bucket (`extensions.cost.throttleStatus`, a
 * THROTTLED error when a query costs more than is available), and bulk operations
 * (`bulkOperationRunQuery` → CREATED → RUNNING → COMPLETED over polls of `node(id:)`, the JSONL
 * result at the operation's `url`). Only the operations Hearth sends are understood.
 */
export interface ShopifyAdminSim {
  url: string;
  token: string;
  /** Orders the store holds (in the GraphQL shape of the orders bulk query). */
  addOrder(o: SimOrder): void;
  /** A customer with an optional default address (GraphQL field names). */
  addCustomer(c: SimCustomer): void;
  customer(id: number): SimCustomer | undefined;
  /** Address mutations received (customerAddressUpdate / customerAddressCreate). */
  readonly addressWrites: number;
  /** Access scopes the app holds (`currentAppInstallation.accessScopes`). */
  scopes: string[];
  /** Webhook subscriptions: topic and callback URL. */
  readonly webhooks: { topic: string; callbackUrl: string }[];
  /** Polls an operation stays RUNNING before it completes (default 2). */
  pollsUntilDone: number;
  readonly bulkRuns: number;
  readonly throttled: number;
  readonly downloads: number;
  /** The cost bucket: maximum, restore rate per second. */
  bucket: { maximum: number; restoreRate: number; available: number };
  close(): Promise<void>;
}

export interface SimOrder {
  id: number;
  name: string;
  email: string | null;
  createdAt: string;
  cancelledAt?: string | null;
  total: string;
  refunded?: string;
  currency?: string;
  phone?: string | null;
  shipping?: SimAddress | null;
}

export interface SimAddress {
  address1: string | null;
  address2?: string | null;
  city: string | null;
  provinceCode: string | null;
  zip: string | null;
  countryCodeV2: string | null;
}

export interface SimCustomer {
  id: number;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  phone: string | null;
  defaultAddress: SimAddress | null;
}

const QUERY_COST = 10;

export async function startShopifyAdminSim(opts: { token?: string } = {}): Promise<ShopifyAdminSim> {
  const token = opts.token ?? 'shpat_sim_token';
  const orders: SimOrder[] = [];
  const customers = new Map<number, SimCustomer>();
  const webhooks: { topic: string; callbackUrl: string }[] = [];
  let addressWrites = 0;
  const customerNode = (c: SimCustomer) => ({
    id: `gid://shopify/Customer/${c.id}`,
    email: c.email,
    firstName: c.firstName,
    lastName: c.lastName,
    phone: c.phone,
    defaultAddress: c.defaultAddress
      ? { id: `gid://shopify/MailingAddress/${c.id}0`, address2: null, ...c.defaultAddress }
      : null,
  });
  const customerOf = (gid: unknown) => customers.get(Number(String(gid).replace(/^gid:\/\/shopify\/Customer\//, '')));
  const ops = new Map<string, { polls: number; lines: string }>();
  let bulkRuns = 0;
  let throttled = 0;
  let downloads = 0;
  let refilledAt = Date.now();
  let self = '';

  const refill = () => {
    const t = Date.now();
    sim.bucket.available = Math.min(
      sim.bucket.maximum,
      sim.bucket.available + ((t - refilledAt) / 1000) * sim.bucket.restoreRate,
    );
    refilledAt = t;
  };
  const cost = (requested: number) => ({
    cost: {
      requestedQueryCost: requested,
      actualQueryCost: requested,
      throttleStatus: {
        maximumAvailable: sim.bucket.maximum,
        currentlyAvailable: Math.floor(sim.bucket.available),
        restoreRate: sim.bucket.restoreRate,
      },
    },
  });

  const orderLine = (o: SimOrder) =>
    JSON.stringify({
      id: `gid://shopify/Order/${o.id}`,
      name: o.name,
      email: o.email,
      createdAt: o.createdAt,
      cancelledAt: o.cancelledAt ?? null,
      currencyCode: o.currency ?? 'USD',
      totalPriceSet: { shopMoney: { amount: o.total, currencyCode: o.currency ?? 'USD' } },
      totalRefundedSet: { shopMoney: { amount: o.refunded ?? '0.0', currencyCode: o.currency ?? 'USD' } },
      phone: o.phone ?? null,
      shippingAddress: o.shipping ? { address2: null, phone: null, ...o.shipping } : null,
    });

  function graphql(body: { query?: string; variables?: Record<string, unknown> }): { status: number; body: unknown } {
    const q = body.query ?? '';
    const requested = /bulkOperationRunQuery/.test(q) ? QUERY_COST : 1;
    refill();
    if (sim.bucket.available < requested) {
      throttled++;
      return {
        status: 200,
        body: { errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED' } }], extensions: cost(requested) },
      };
    }
    sim.bucket.available -= requested;
    if (/bulkOperationRunQuery/.test(q)) {
      bulkRuns++;
      const inner = String(body.variables?.query ?? '');
      if (!/orders/.test(inner))
        return {
          status: 200,
          body: {
            data: {
              bulkOperationRunQuery: {
                bulkOperation: null,
                userErrors: [{ field: ['query'], message: 'Invalid bulk query' }],
              },
            },
            extensions: cost(requested),
          },
        };
      const since = /created_at:>=(\d{4}-\d{2}-\d{2})/.exec(inner)?.[1];
      const lines = orders
        .filter((o) => !since || o.createdAt >= since)
        .map(orderLine)
        .join('\n');
      const id = `gid://shopify/BulkOperation/${bulkRuns}`;
      ops.set(id, { polls: 0, lines: lines ? `${lines}\n` : '' });
      return {
        status: 200,
        body: {
          data: { bulkOperationRunQuery: { bulkOperation: { id, status: 'CREATED' }, userErrors: [] } },
          extensions: cost(requested),
        },
      };
    }
    if (/node\(id:/.test(q)) {
      const id = String(body.variables?.id ?? '');
      const op = ops.get(id);
      if (!op) return { status: 200, body: { data: { node: null }, extensions: cost(requested) } };
      op.polls++;
      const done = op.polls > sim.pollsUntilDone;
      const n = String(op.lines.split('\n').filter(Boolean).length);
      return {
        status: 200,
        body: {
          data: {
            node: {
              id,
              status: done ? 'COMPLETED' : op.polls === 1 ? 'CREATED' : 'RUNNING',
              errorCode: null,
              objectCount: done ? n : '0',
              url: done && op.lines ? `${self}/bulk/${id.split('/').pop()}.jsonl` : null,
              partialDataUrl: null,
            },
          },
          extensions: cost(requested),
        },
      };
    }
    const vars = body.variables ?? {};
    const ok = (data: unknown) => ({ status: 200, body: { data, extensions: cost(requested) } });
    if (/webhookSubscriptionCreate\(/.test(q)) {
      const topic = String(vars.topic ?? '');
      const callbackUrl = String(vars.url ?? '');
      const taken = webhooks.some((w) => w.topic === topic && w.callbackUrl === callbackUrl);
      if (!taken) webhooks.push({ topic, callbackUrl });
      const userErrors = taken
        ? [{ field: ['webhookSubscription', 'callbackUrl'], message: 'Address for this topic has already been taken' }]
        : [];
      return ok({
        webhookSubscriptionCreate: {
          webhookSubscription: taken ? null : { id: `gid://shopify/WebhookSubscription/${webhooks.length}` },
          userErrors,
        },
      });
    }
    if (/webhookSubscriptions\(first:/.test(q))
      return ok({
        shop: { name: 'Hearth Demo' },
        currentAppInstallation: { accessScopes: sim.scopes.map((handle) => ({ handle })) },
        webhookSubscriptions: {
          nodes: webhooks.map((w, i) => ({
            id: `gid://shopify/WebhookSubscription/${i + 1}`,
            topic: w.topic,
            endpoint: { __typename: 'WebhookHttpEndpoint', callbackUrl: w.callbackUrl },
          })),
        },
      });
    if (/customerAddress(Update|Create)\(/.test(q)) {
      const c = customerOf(vars.customerId);
      const name = /customerAddressUpdate\(/.test(q) ? 'customerAddressUpdate' : 'customerAddressCreate';
      const a = (vars.address ?? {}) as Record<string, string | null>;
      if (!c || !a.address1)
        return {
          status: 200,
          body: {
            data: {
              [name]: {
                address: null,
                userErrors: [{ field: ['address'], message: c ? 'Address1 is blank' : 'Customer does not exist' }],
              },
            },
            extensions: cost(requested),
          },
        };
      addressWrites++;
      c.defaultAddress = {
        address1: a.address1 ?? null,
        address2: a.address2 ?? null,
        city: a.city ?? null,
        provinceCode: a.provinceCode ?? null,
        zip: a.zip ?? null,
        countryCodeV2: a.countryCode ?? null,
      };
      return {
        status: 200,
        body: {
          data: { [name]: { address: { id: `gid://shopify/MailingAddress/${c.id}0` }, userErrors: [] } },
          extensions: cost(requested),
        },
      };
    }
    if (/customer\(id:/.test(q)) {
      const c = customerOf(vars.id);
      return { status: 200, body: { data: { customer: c ? customerNode(c) : null }, extensions: cost(requested) } };
    }
    if (/customers\(first:/.test(q)) {
      const email = /email:"([^"]*)"/.exec(String(vars.q ?? ''))?.[1]?.toLowerCase();
      const found = [...customers.values()].filter((c) => c.email?.toLowerCase() === email).slice(0, 1);
      return {
        status: 200,
        body: { data: { customers: { nodes: found.map(customerNode) } }, extensions: cost(requested) },
      };
    }
    return { status: 200, body: { errors: [{ message: 'the simulator does not know this operation' }] } };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const text = await readBody(req);
    const bulk = /^\/bulk\/(\d+)\.jsonl$/.exec(url.pathname);
    if (req.method === 'GET' && bulk) {
      downloads++;
      const op = ops.get(`gid://shopify/BulkOperation/${bulk[1]}`);
      if (!op) return sendJson(res, 404, { errors: 'Not Found' });
      // Written in small pieces: a line may span chunks, as it does from storage.
      res.writeHead(200, { 'content-type': 'application/jsonl' });
      for (let i = 0; i < op.lines.length; i += 37) res.write(op.lines.slice(i, i + 37));
      return void res.end();
    }
    if (req.method !== 'POST' || !/^\/admin\/api\/[\w-]+\/graphql\.json$/.test(url.pathname))
      return sendJson(res, 404, { errors: 'Not Found' });
    if (req.headers['x-shopify-access-token'] !== token)
      return sendJson(res, 401, {
        errors: '[API] Invalid API key or access token (unrecognized login or wrong password)',
      });
    const body = parseJson(text);
    if (!body || typeof body !== 'object') return sendJson(res, 400, { errors: 'malformed JSON' });
    const r = graphql(body as { query?: string; variables?: Record<string, unknown> });
    sendJson(res, r.status, r.body);
  }

  const server = await listen(handle);
  self = server.url;
  const sim: ShopifyAdminSim = {
    url: server.url,
    token,
    pollsUntilDone: 2,
    bucket: { maximum: 1000, restoreRate: 50, available: 1000 },
    addOrder: (o) => void orders.push(o),
    addCustomer: (c) => void customers.set(c.id, { ...c }),
    scopes: ['read_orders', 'read_customers', 'write_customers'],
    webhooks,
    customer: (id) => customers.get(id),
    get addressWrites() {
      return addressWrites;
    },
    get bulkRuns() {
      return bulkRuns;
    },
    get throttled() {
      return throttled;
    },
    get downloads() {
      return downloads;
    },
    close: server.close,
  };
  return sim;
}
