import Fastify from 'fastify';
import { parseConfig } from '../src/config/loader.ts';
import { createLogger } from '../src/log.ts';
import { startHearth } from '../src/runtime.ts';
import { buildOrder, signShopifyDelivery } from '../sim/shopify.ts';
import { round, sqliteBenchDb } from './db-fixtures.ts';

const SECRET = 'shpss_bench';

/**
 * Webhook-to-durable-inbox throughput over real HTTP (verify HMAC, parse, insert, 200), beside a
 * bare Fastify route that answers 200 to the same requests, driven by the same client.
 */
export async function runIngestBench(
  opts: { requests?: number; concurrency?: number } = {},
): Promise<Record<string, unknown>> {
  const n = opts.requests ?? 5000;
  const c = opts.concurrency ?? 32;
  const deliveries = Array.from({ length: n }, (_, i) =>
    signShopifyDelivery(
      'orders/create',
      buildOrder({
        order_id: i,
        customer_id: i,
        email: `i${i}@example.com`,
        first_name: 'A',
        last_name: 'B',
        address1: `${i} Elm St`,
        city: 'Austin',
        province_code: 'TX',
        zip: '78701',
      }),
      SECRET,
      `ingest-${i}`,
    ),
  );
  const bare = Fastify();
  bare.post('/webhooks/shopify', async () => ({ accepted: 1, duplicates: 0 }));
  const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
  const bareRate = await drive(`${bareUrl}/webhooks/shopify`, deliveries, c);
  await bare.close();

  const bdb = await sqliteBenchDb();
  const config = parseConfig({
    database: bdb.url,
    server: { port: 0 },
    connectors: { shopify: { webhook_secret: SECRET } },
    log: { level: 'silent' },
  });
  const hearth = await startHearth(config, {
    logger: createLogger('silent'),
    hdb: bdb.hdb,
    workers: false,
    migrate: false,
  });
  const hearthRate = await drive(`${hearth.url}/webhooks/shopify`, deliveries, c);
  const stored = await bdb.hdb.db
    .selectFrom('inbox_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  await hearth.close();
  await bdb.drop();
  return {
    requests: n,
    concurrency: c,
    bare_fastify: bareRate,
    hearth_sqlite: { ...hearthRate, stored: Number(stored.n) },
    ratio_vs_bare: round(hearthRate.requests_per_second / bareRate.requests_per_second, 3),
  };
}

async function drive(
  url: string,
  deliveries: { body: string; headers: Record<string, string> }[],
  concurrency: number,
) {
  let next = 0;
  let failures = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < deliveries.length) {
        const d = deliveries[next++]!;
        const res = await fetch(url, { method: 'POST', headers: d.headers, body: d.body });
        await res.arrayBuffer();
        if (res.status !== 200) failures++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { seconds: round(seconds, 2), requests_per_second: round(deliveries.length / seconds, 0), failures };
}

if (import.meta.main) console.log(JSON.stringify(await runIngestBench(), null, 2));
