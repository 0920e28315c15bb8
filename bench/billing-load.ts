import { buildOrder, signShopifyDelivery } from '../sim/shopify.ts';
import { stripeSignature } from '../sim/stripe.ts';
import { serveParent } from './procs.ts';

/**
 * The billing bench's load generator in its own process, driven over IPC. It signs Stripe events
 * and Shopify checkouts as the vendors would and records when it sent each (Date.now(): every
 * process on the machine shares the clock), so a lag runs from the client's send to a simulator's
 * acknowledgement.
 */
const wireErrors: Record<string, number> = {};

interface StripeObject {
  type: string;
  object: Record<string, unknown>;
}
interface Target {
  url: string;
  secret: string;
}

let evt = 0;
function stripeDelivery(e: StripeObject, secret: string): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({
    id: `evt_bench${process.pid}_${++evt}`,
    object: 'event',
    type: e.type,
    created: Math.floor(Date.now() / 1000),
    api_version: '2026-07-29.dahlia',
    data: { object: e.object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
  });
  return {
    body,
    headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignature(body, [secret]) },
  };
}

/** A checkout whose shipping address differs from the CRM's (a correction to write back). */
function checkout(prefix: string, i: number, orderId: number, secret: string) {
  const order = buildOrder({
    order_id: orderId,
    customer_id: orderId,
    email: `${prefix}${i}@example.com`,
    first_name: 'Bea',
    last_name: `Bench${i}`,
    address1: `${i + 10} New Street`,
    city: 'Austin',
    province_code: 'TX',
    zip: '78702',
  });
  return signShopifyDelivery('orders/create', order, secret, `${prefix}-${orderId}`);
}

serveParent({
  /**
   * Tick i (at `rate` per second) sends Stripe event i and, with `shopify`, every `every`-th tick
   * a checkout correction for person i: both streams in the same run. Returns each send time.
   */
  paced: async (a: {
    rate: number;
    stripe: Target & { events: StripeObject[] };
    shopify?: Target & { prefix: string; order_offset: number; every: number };
  }) => {
    const n = a.stripe.events.length;
    const stripeSentAt: number[] = new Array(n);
    const shopifySentAt: number[] = [];
    let failures = 0;
    const sends: Promise<void>[] = [];
    const check = (p: Promise<number>) => sends.push(p.then((s) => void (s === 200 || failures++)));
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const wait = t0 + (i * 1000) / a.rate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const d = stripeDelivery(a.stripe.events[i]!, a.stripe.secret);
      stripeSentAt[i] = Date.now();
      check(post(a.stripe.url, d));
      if (!a.shopify || i % a.shopify.every !== 0) continue;
      const c = checkout(a.shopify.prefix, i, a.shopify.order_offset + i, a.shopify.secret);
      shopifySentAt.push(Date.now());
      check(post(a.shopify.url, c));
    }
    await Promise.all(sends);
    return { stripeSentAt, shopifySentAt, failures, wire_errors: wireErrors };
  },
  /** Stripe events as fast as `concurrency` connections allow (setup, not measured). */
  stripeBurst: async (a: Target & { events: StripeObject[]; concurrency: number }) => {
    let next = 0;
    let failures = 0;
    await Promise.all(
      Array.from({ length: a.concurrency }, async () => {
        while (next < a.events.length)
          if ((await post(a.url, stripeDelivery(a.events[next++]!, a.secret))) !== 200) failures++;
      }),
    );
    return { failures };
  },
  /** `n` checkout corrections over `concurrency` connections; returns when the first was sent. */
  checkoutBurst: async (a: Target & { prefix: string; n: number; order_offset: number; concurrency: number }) => {
    const deliveries = Array.from({ length: a.n }, (_, i) => checkout(a.prefix, i, a.order_offset + i, a.secret));
    let next = 0;
    let failures = 0;
    const firstSentAt = Date.now();
    await Promise.all(
      Array.from({ length: a.concurrency }, async () => {
        while (next < deliveries.length) if ((await post(a.url, deliveries[next++]!)) !== 200) failures++;
      }),
    );
    return { firstSentAt, lastAcceptedAt: Date.now(), failures };
  },
});

/** The HTTP status, or 0 when the request failed on the wire (counted as a failure, not a crash). */
async function post(url: string, d: { body: string; headers: Record<string, string> }): Promise<number> {
  try {
    const res = await fetch(url, { method: 'POST', headers: d.headers, body: d.body });
    await res.arrayBuffer();
    return res.status;
  } catch (err) {
    const reason = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    wireErrors[reason] = (wireErrors[reason] ?? 0) + 1;
    return 0;
  }
}
