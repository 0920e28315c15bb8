import { Client } from '@hubspot/api-client';
import { parseConfig } from '../src/config/loader.ts';
import { createLogger } from '../src/log.ts';
import { startHearth } from '../src/runtime.ts';
import { startHubSpotSim } from '../sim/hubspot.ts';
import { buildOrder, sendShopifyWebhook } from '../sim/shopify.ts';
import { percentile, round, sqliteBenchDb } from './db-fixtures.ts';

const SECRET = 'shpss_lag_bench';

/**
 * Write-back lag at a steady rate: from the checkout webhook being accepted (HTTP 200) to the
 * simulated HubSpot acknowledging the contact update. Baseline: the same SDK update call made
 * directly against the simulator, in the same run.
 */
export async function runWritebackLagBench(
  opts: { rate?: number; seconds?: number } = {},
): Promise<Record<string, unknown>> {
  const rate = opts.rate ?? 100;
  const n = rate * (opts.seconds ?? 10);
  const crm = await startHubSpotSim();
  const ids = Array.from({ length: n }, (_, i) =>
    crm.createContact({
      email: `lag${i}@example.com`,
      address: '1 Old Rd',
      city: 'Austin',
      state: 'TX',
      zip: '78701',
      country: 'US',
    }),
  );
  const baseline = await directUpdates(crm.url, crm.token, ids.slice(0, Math.min(200, n)));
  const bdb = await sqliteBenchDb();
  const config = parseConfig({
    database: bdb.url,
    server: { port: 0 },
    log: { level: 'silent' },
    connectors: { shopify: { webhook_secret: SECRET }, hubspot: { access_token: crm.token, base_url: crm.url } },
    writeback: { crm: 'hubspot' },
    jobs: { poll_interval_ms: 50 },
  });
  const hearth = await startHearth(config, { logger: createLogger('silent'), hdb: bdb.hdb, migrate: false });
  const accepted: number[] = new Array(n);
  const t0 = performance.now();
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    // Pace the load: event i leaves at t0 + i/rate seconds.
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const order = buildOrder({
      order_id: i,
      customer_id: i,
      email: `lag${i}@example.com`,
      first_name: 'L',
      last_name: 'G',
      address1: `${i + 10} New Street`,
      city: 'Austin',
      province_code: 'TX',
      zip: '78702',
    });
    sends.push(
      sendShopifyWebhook(`${hearth.url}/webhooks/shopify`, 'orders/create', order, SECRET, `lag-${i}`).then(() => {
        accepted[i] = Date.now();
      }),
    );
  }
  await Promise.all(sends);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && ids.some((id) => crm.history(id).length === 0))
    await new Promise((r) => setTimeout(r, 50));
  const lags = ids
    .map((id, i) => (crm.history(id)[0]?.at ?? NaN) - accepted[i]!)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  await hearth.close();
  await bdb.drop();
  await crm.close();
  return {
    rate_per_second: rate,
    events: n,
    delivered: lags.length,
    lag_ms: { p50: percentile(lags, 50), p90: percentile(lags, 90), p99: percentile(lags, 99), max: lags.at(-1) },
    baseline_direct_sdk_update_ms: baseline,
  };
}

async function directUpdates(url: string, token: string, ids: string[]) {
  const client = new Client({ accessToken: token, basePath: url, numberOfApiCallRetries: 0 });
  const times: number[] = [];
  for (const id of ids) {
    const t = performance.now();
    await client.crm.contacts.basicApi.update(id, { properties: { city: 'Austin' } });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50: round(percentile(times, 50), 2), p99: round(percentile(times, 99), 2) };
}

if (import.meta.main) console.log(JSON.stringify(await runWritebackLagBench(), null, 2));
