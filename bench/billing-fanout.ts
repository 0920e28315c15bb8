import { parseConfig } from '../src/config/loader.ts';
import { isQuiet } from '../src/engine/quiet.ts';
import { createLogger } from '../src/log.ts';
import { startHearth, type Hearth } from '../src/runtime.ts';
import { startHubSpotSim, type HubSpotSim } from '../sim/hubspot.ts';
import { startReceiver } from '../sim/receiver.ts';
import { buildOrder, sendShopifyWebhook } from '../sim/shopify.ts';
import { sendStripeEvent, startStripeSim, type StripeSim } from '../sim/stripe.ts';
import { startZendeskSim, type ZendeskSim } from '../sim/zendesk.ts';
import { percentile, sqliteBenchDb, type BenchDb } from './db-fixtures.ts';
import { repeated } from './procs.ts';

const SHOPIFY = 'shpss_billing_bench';
const WHSEC = 'whsec_billing_bench';
const ZD_SECRET = 'zendesk-bench-secret';

interface Systems {
  crm: HubSpotSim;
  stripe: StripeSim;
  zendesk: ZendeskSim;
  receiver: Awaited<ReturnType<typeof startReceiver>>;
}

async function hearthWith(s: Systems, bdb: BenchDb, all: boolean): Promise<Hearth> {
  const connectors: Record<string, unknown> = {
    shopify: { webhook_secret: SHOPIFY },
    hubspot: { access_token: s.crm.token, base_url: s.crm.url },
  };
  if (all) {
    connectors.stripe = { api_key: s.stripe.apiKey, webhook_secret: WHSEC, base_url: s.stripe.url };
    connectors.zendesk = {
      email: s.zendesk.email,
      api_token: s.zendesk.token,
      base_url: s.zendesk.url,
      webhook_secret: ZD_SECRET,
      job_poll_ms: 20,
    };
    connectors.webhook = {
      targets: [{ name: 'reader', url: s.receiver.url, secret: 'reader-secret', events: ['customer.updated'] }],
    };
  }
  const config = parseConfig({
    database: bdb.url,
    server: { port: 0 },
    log: { level: 'silent' },
    connectors,
    writeback: { crm: 'hubspot' },
    jobs: { poll_interval_ms: 20 },
  });
  return startHearth(config, { logger: createLogger('silent'), hdb: bdb.hdb, migrate: false });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function quiet(bdb: BenchDb, ms = 120_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await isQuiet(bdb.hdb.db)) && Date.now() < until) await sleep(20);
}

const order = (i: number, tag: string) =>
  buildOrder({
    order_id: i,
    customer_id: i,
    email: `${tag}${i}@example.com`,
    first_name: 'Bea',
    last_name: `Bench${i}`,
    address1: `${i + 10} New Street`,
    city: 'Austin',
    province_code: 'TX',
    zip: '78702',
  });

/**
 * Stripe webhook → Zendesk user field visible, at a steady rate, beside the CRM write-back lag
 * of checkout corrections sent at the same rate in the same run.
 */
async function visibility(s: Systems, rate: number, n: number, tag: string) {
  const bdb = await sqliteBenchDb();
  const hearth = await hearthWith(s, bdb, true);
  const cus = Array.from({ length: n }, (_, i) => {
    const email = `${tag}${i}@example.com`;
    s.crm.createContact({ email, address: '1 Old Rd', city: 'Austin', state: 'TX', zip: '78701', country: 'US' });
    return s.stripe.createCustomer({ email, name: `Vi Sible${i}` });
  });
  await Promise.all(
    cus.map((c) => sendStripeEvent(`${hearth.url}/webhooks/stripe`, s.stripe.event('customer.created', c), [WHSEC])),
  );
  await quiet(bdb);
  const contacts = s.crm.listContacts().filter((c) => c.properties.email?.startsWith(tag));
  const billedAt: number[] = new Array(n);
  const orderedAt: number[] = new Array(n);
  const t0 = performance.now();
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const invoice = {
      id: `in_${tag}${i}`,
      customer: cus[i]!.id,
      customer_email: cus[i]!.email,
      next_payment_attempt: 1,
    };
    const ev = s.stripe.event('invoice.payment_failed', invoice);
    sends.push(
      sendStripeEvent(`${hearth.url}/webhooks/stripe`, ev, [WHSEC]).then(() => void (billedAt[i] = Date.now())),
    );
    sends.push(
      sendShopifyWebhook(`${hearth.url}/webhooks/shopify`, 'orders/create', order(i, tag), SHOPIFY, `${tag}-${i}`).then(
        () => void (orderedAt[i] = Date.now()),
      ),
    );
  }
  await Promise.all(sends);
  await quiet(bdb);
  const visible = cus
    .map((c, i) => {
      const u = [...s.zendesk.users.values()].find(
        (z) => z.email === c.email && z.user_fields.billing_status === 'past_due',
      );
      return u ? Date.parse(u.updated_at) - billedAt[i]! : Number.NaN;
    })
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const crmLag = contacts
    .map((c) => {
      const email = c.properties.email!;
      const i = Number(email.slice(tag.length, email.indexOf('@')));
      const w = s.crm.history(c.id).find((h) => h.properties.city !== undefined);
      return w ? w.at - orderedAt[i]! : Number.NaN;
    })
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  await hearth.close();
  await bdb.drop();
  const stats = (xs: number[]) => ({ n: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99), max: xs.at(-1) });
  return { stripe_to_zendesk_visible_ms: stats(visible), crm_writeback_lag_ms: stats(crmLag) };
}

/** Time for a burst of checkout corrections to settle everywhere: the CRM alone, then four systems. */
async function fanout(s: Systems, m: number, all: boolean, run: number) {
  const tag = `${all ? 'fan4x' : 'fan1x'}${run}r`;
  for (let i = 0; i < m; i++) {
    const email = `${tag}${i}@example.com`;
    s.crm.createContact({ email, address: '1 Old Rd', city: 'Austin', state: 'TX', zip: '78701', country: 'US' });
    if (all) s.stripe.createCustomer({ email, name: `Bea Bench${i}` });
  }
  const bdb = await sqliteBenchDb();
  const hearth = await hearthWith(s, bdb, all);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: m }, (_, i) =>
      sendShopifyWebhook(`${hearth.url}/webhooks/shopify`, 'orders/create', order(i, tag), SHOPIFY, `${tag}-${i}`),
    ),
  );
  await quiet(bdb);
  const ms = performance.now() - t0;
  const jobs = await bdb.hdb.db.selectFrom('jobs').select(['target', 'status']).execute();
  await hearth.close();
  await bdb.drop();
  const jobsByStatus: Record<string, number> = {};
  for (const j of jobs) jobsByStatus[`${j.target}:${j.status}`] = (jobsByStatus[`${j.target}:${j.status}`] ?? 0) + 1;
  return {
    ms: Math.round(ms),
    jobs_done: jobs.filter((j) => j.status === 'done').length,
    jobs: jobs.length,
    jobs_by_status: jobsByStatus,
  };
}

export async function runBillingFanoutBench(
  opts: { rate?: number; seconds?: number; burst?: number; runs?: number } = {},
): Promise<Record<string, unknown>> {
  const runs = opts.runs ?? 3;
  const rate = opts.rate ?? 50;
  const n = rate * (opts.seconds ?? 10);
  const burst = opts.burst ?? 200;
  const s: Systems = {
    crm: await startHubSpotSim(),
    stripe: await startStripeSim(),
    zendesk: await startZendeskSim(),
    receiver: await startReceiver(),
  };
  try {
    // A first, unmeasured pass warms the process (JIT, lazily compiled serializers and SQL).
    await visibility(s, rate, Math.min(n, rate * 2), 'warm');
    const measured = await repeated(runs, async (run) => {
      const vis = await visibility(s, rate, n, `vis${run}x`);
      const one = await fanout(s, burst, false, run);
      const four = await fanout(s, burst, true, run);
      return {
        ...vis,
        fanout: { one_system_ms: one, four_systems_ms: four, ratio: Math.round((four.ms / one.ms) * 100) / 100 },
      };
    });
    return {
      condition:
        `${rate} events/s for ${n / rate} s on loopback (sqlite), simulators for Stripe, Zendesk, HubSpot; ` +
        'Hearth, simulators and sender in one process (not yet split like the write-back lag bench)',
      rate_per_second: rate,
      events: n,
      burst,
      ...measured,
    };
  } finally {
    await Promise.all([s.crm.close(), s.stripe.close(), s.zendesk.close(), s.receiver.close()]);
  }
}

if (import.meta.main) console.log(JSON.stringify(await runBillingFanoutBench(), null, 2));
