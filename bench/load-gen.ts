import { Agent, request } from 'node:http';
import { Client } from '@hubspot/api-client';
import { buildOrder, signShopifyDelivery } from '../sim/shopify.ts';
import { serveParent, wallMs } from './procs.ts';

/**
 * The load generator in its own process, driven by the bench over IPC. It records when it sent
 * each request (fractional ms since the epoch, `wallMs()`: every process on the machine shares the
 * clock), so lag is measured from the client's send to the simulator's acknowledgement, not from a
 * busy event loop's view.
 */
let prepared: { body: string; headers: Record<string, string> }[] = [];
/** Requests that failed on the wire, by cause (e.g. UND_ERR_CONNECT_TIMEOUT when Hearth's event loop is saturated). */
const wireErrors: Record<string, number> = {};

serveParent({
  /** Signs the deliveries for `drive` ahead of time, so the measured window holds only the sending. */
  prepare: (a: { n: number; secret: string; prefix: string }) => {
    prepared = Array.from({ length: a.n }, (_, i) =>
      signShopifyDelivery('orders/create', order(i, `i${i}@example.com`), a.secret, `${a.prefix}-${i}`),
    );
    return prepared.length;
  },
  /** Checkout webhooks at a steady rate; returns each send time. */
  paced: async (a: { url: string; rate: number; n: number; secret: string; prefix: string; offset?: number }) => {
    const sentAt: number[] = new Array(a.n);
    const failures: number[] = [];
    const sends: Promise<void>[] = [];
    const t0 = performance.now();
    for (let i = 0; i < a.n; i++) {
      const wait = t0 + (i * 1000) / a.rate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const d = signShopifyDelivery(
        'orders/create',
        order(i + (a.offset ?? 0), `${a.prefix}${i}@example.com`),
        a.secret,
        `${a.prefix}-${i}`,
      );
      sentAt[i] = wallMs();
      sends.push(post(a.url, d).then((s) => void (s === 200 || failures.push(i))));
    }
    await Promise.all(sends);
    return { sentAt, failures: failures.length, wire_errors: wireErrors };
  },
  /** Signed deliveries as fast as `concurrency` connections allow; returns the rate. */
  drive: async (a: { url: string; concurrency: number }) => {
    const deliveries = prepared;
    let next = 0;
    let failures = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: a.concurrency }, async () => {
        while (next < deliveries.length) if ((await post(a.url, deliveries[next++]!)) !== 200) failures++;
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    return {
      seconds: Number(seconds.toFixed(2)),
      requests_per_second: Math.round(deliveries.length / seconds),
      failures,
    };
  },
  /** Baseline for write-back lag: the same SDK update Hearth makes, sent straight to the simulator. */
  sdk: async (a: { url: string; token: string; ids: string[] }) => {
    const client = new Client({ accessToken: a.token, basePath: a.url, numberOfApiCallRetries: 0 });
    const sentAt: number[] = [];
    for (const id of a.ids) {
      sentAt.push(wallMs());
      await client.crm.contacts.basicApi.update(id, { properties: { city: 'Austin' } });
    }
    return { sentAt };
  },
});

function order(i: number, email: string) {
  return buildOrder({
    order_id: i,
    customer_id: i,
    email,
    first_name: 'L',
    last_name: 'G',
    address1: `${i + 10} New Street`,
    city: 'Austin',
    province_code: 'TX',
    zip: '78702',
  });
}

/**
 * Keep-alive connections through node:http: fetch() cost the generator 0.6 ms of CPU per request,
 * four times what the bare Fastify server it measures spends, so the generator set the rate.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** The HTTP status, or 0 when the request failed on the wire (counted as a failure, not a crash). */
function post(url: string, d: { body: string; headers: Record<string, string> }): Promise<number> {
  return new Promise((resolve) => {
    const headers = { ...d.headers, 'content-length': String(Buffer.byteLength(d.body)) };
    const req = request(url, { method: 'POST', headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', (err) => resolve(failed(err)));
    });
    req.on('error', (err) => resolve(failed(err)));
    req.end(d.body);
  });
}

function failed(err: Error & { code?: string }): number {
  const reason = err.code ?? err.message;
  wireErrors[reason] = (wireErrors[reason] ?? 0) + 1;
  return 0;
}
