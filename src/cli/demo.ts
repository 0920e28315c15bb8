import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { parseConfig, type HearthConfig } from '../config/loader.ts';
import { HearthError } from '../errors.ts';
import { runLoyaltyDemo, seedLoyaltyHousehold } from './demo-loyalty.ts';
import { fillConsole } from './demo-console.ts';
import { runGovernanceDemo } from './demo-governance.ts';
import { runBillingDemo, startBillingSims } from './demo-billing.ts';
import { runCdcScene } from './demo-cdc.ts';
import { pullConnector } from '../flows/pull-sources.ts';
import { loyaltySettings } from '../config/derive.ts';
import { signatureHeaders } from '../connectors/registry.ts';
import { createLogger } from '../log.ts';
import { engineContext, startHearth, type Hearth } from '../runtime.ts';
import { startHubSpotSim, type HubSpotSim } from '../../sim/hubspot.ts';
import { startReceiver, type Receiver } from '../../sim/receiver.ts';
import { buildOrder, sendShopifyWebhook } from '../../sim/shopify.ts';
import { DEMO_PEOPLE, type DemoPerson } from './demo-people.ts';
import { waitForSignal } from './serve.ts';
import { isQuiet } from '../engine/quiet.ts';
import { freePort } from './free-port.ts';
import { parseFlags, writeLine, type CliIo } from './io.ts';

const HELP = `Usage: hearth demo [--port PORT] [--db URL] [--once] [--keep]

Starts Hearth (SQLite at ./data/demo.db by default, recreated each run) with a simulated HubSpot
CRM, a simulated loyalty platform that reads Hearth's webhooks, and a scripted storefront that
sends Shopify orders/create webhooks. Checkout corrects addresses the CRM has stale; you watch
the corrections reach the CRM's standard address fields, with the measured lag. Last, a contact
edited in a simulated Salesforce arrives over the CDC subscriber (Pub/Sub API), timed. The simulated
CRM answers some requests with 429 and 503 so you see retries. Then it keeps serving until
Ctrl-C (or exits with --once).
  --port PORT  Hearth's port (default 4000)
  --db URL     database (default sqlite:./data/demo.db)
  --keep       keep the existing demo database instead of starting fresh
  --once       run the workload, print the summary and exit`;

const SHOPIFY_SECRET = 'shpss_demo_secret';
const HUBSPOT_SECRET = 'hubspot-demo-client-secret';
const APP_ID = '424242';

export async function demoCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(argv, {
    help: { type: 'boolean', short: 'h' },
    port: { type: 'string' },
    db: { type: 'string' },
    once: { type: 'boolean' },
    keep: { type: 'boolean' },
  });
  if (values.help) return (writeLine(io.stdout, HELP), 0);
  const requested = Number(values.port ?? 4000);
  if (!Number.isInteger(requested) || requested < 0 || requested > 65535)
    throw new HearthError('invalid_input', `--port must be a port number (got "${values.port}")`);
  // The simulated CRM must know Hearth's webhook URL before Hearth starts: resolve port 0 now.
  const port = requested === 0 ? await freePort() : requested;
  const database = values.db ?? 'sqlite:./data/demo.db';
  if (!values.keep && database.startsWith('sqlite:'))
    for (const ext of ['', '-wal', '-shm']) rmSync(database.slice(7) + ext, { force: true });
  const apiKey = io.env.HEARTH_API_KEY ?? `hk_demo_${randomBytes(9).toString('base64url')}`;

  const crm = await startHubSpotSim({
    webhook: { url: `http://127.0.0.1:${port}/webhooks/hubspot`, client_secret: HUBSPOT_SECRET, app_id: APP_ID },
  });
  const loyalty = await startReceiver();
  const billing = await startBillingSims();
  let hearth: Hearth | undefined;
  try {
    const config = parseConfig(
      {
        database,
        server: { host: '127.0.0.1', port },
        log: { level: io.env.HEARTH_LOG_LEVEL ?? 'error' },
        connectors: {
          shopify: { webhook_secret: SHOPIFY_SECRET },
          hubspot: { access_token: 'pat-demo-token', base_url: crm.url, client_secret: HUBSPOT_SECRET, app_id: APP_ID },
          webhook: {
            targets: [
              {
                name: 'loyalty',
                url: loyalty.url,
                secret: 'whsec_demo_loyalty',
                events: ['address.corrected', 'order.enriched', 'tier.changed'],
              },
            ],
          },
          ...billing.connectors,
        },
        writeback: { crm: 'hubspot', sync_window_seconds: 60 },
        households: { source: 'hubspot' },
        jobs: { base_delay_ms: 200, max_delay_ms: 5000, poll_interval_ms: 50 },
      },
      { HEARTH_API_KEY: apiKey },
    );
    hearth = await startHearth(config, {
      // Logs go to stderr, the walkthrough to stdout.
      logger: createLogger(config.log.level, io.stderr, signatureHeaders(config.descriptors)),
    });
    await runWorkload(hearth, crm, loyalty, io);
    const running = hearth;
    await pullHouseholds(running, config, crm, io);
    await runLoyaltyDemo(running, {
      shopify_secret: SHOPIFY_SECRET,
      api_key: apiKey,
      settle: () => settle(running),
      loyalty: loyaltySettings(config),
      opt_out_through_api: true,
      write: (line) => writeLine(io.stdout, line),
    });
    await settle(running);
    writeLine(
      io.stdout,
      `  HubSpot now has points_aggregation_opt_in=${
        crm.listContacts().find((c) => c.properties.email === 'chi.okafor@example.com')?.properties
          .points_aggregation_opt_in
      } for chi.okafor@example.com (written back by Hearth).`,
    );
    writeLine(
      io.stdout,
      `\nThe loyalty platform received ${countByType(loyalty, 'order.enriched')} order.enriched and ` +
        `${countByType(loyalty, 'tier.changed')} tier.changed webhooks (household_id, role, opt-in and tier attached).`,
    );
    await reconcileAfterCrmEdit(running, crm, apiKey, io);
    await orderUnderNewEmail(running, io);
    await fillConsole(running, crm, {
      shopify_secret: SHOPIFY_SECRET,
      api_key: apiKey,
      settle: () => settle(running),
      write: (l) => writeLine(io.stdout, l),
    });
    await runGovernanceDemo(running, {
      shopify_secret: SHOPIFY_SECRET,
      api_key: apiKey,
      crm,
      settle: () => settle(running),
      write: (l) => writeLine(io.stdout, l),
    });
    await runBillingDemo(running, billing, {
      crm,
      settle: () => settle(running),
      write: (l) => writeLine(io.stdout, l),
    });
    await salesforceRealTime(io);
    printWhereToLook(io, hearth.url, apiKey);
    if (!values.once) await waitForSignal();
    return 0;
  } finally {
    await hearth?.close();
    await crm.close();
    await loyalty.close();
    await billing.close();
  }
}

/**
 * The Salesforce scene of demo-cdc, one edit: a Hearth of its own on a temporary database (adding
 * Salesforce to the HubSpot demo would change what the scenes above reconcile and own). A failure
 * is printed, not thrown: the scenes above already ran.
 */
async function salesforceRealTime(io: CliIo): Promise<void> {
  writeLine(
    io.stdout,
    '\nSalesforce in real time (a second Hearth on a temporary database, subscribed to Change Data Capture ' +
      'over the Pub/Sub API; more in hearth demo-cdc):',
  );
  try {
    const [ms] = await runCdcScene(io, { edits: 1, verbose: false });
    writeLine(io.stdout, `  that is ${ms! < 1000 ? 'within a second' : 'slower than a second this time'} of the edit.`);
  } catch (err) {
    writeLine(io.stdout, `  the Salesforce scene could not run: ${(err as Error).message}`);
  }
}

/** The CRM is the authority for households: Hearth imports them (company as household) before the loyalty scenario. */
async function pullHouseholds(hearth: Hearth, config: HearthConfig, crm: HubSpotSim, io: CliIo): Promise<void> {
  seedLoyaltyHousehold(crm);
  const s = await pullConnector(
    hearth.hdb,
    config,
    hearth.connectors,
    engineContext(config, hearth.connectors),
    'hubspot',
    { restart: true },
  );
  const households = await hearth.hdb.db
    .selectFrom('households')
    .select('name')
    .where('source_system', '=', 'hubspot')
    .execute();
  writeLine(
    io.stdout,
    `\nPulled ${s.contacts} HubSpot contacts with their households (${households.map((h) => h.name).join(', ')}; ` +
      `${s.members_changed} memberships): the CRM stays the authority.`,
  );
}

async function runWorkload(hearth: Hearth, crm: HubSpotSim, loyalty: Receiver, io: CliIo): Promise<void> {
  const seeded = DEMO_PEOPLE.map((p) => ({ person: p, id: p.in_crm ? crm.createContact(p.crm) : null }));
  writeLine(
    io.stdout,
    `Seeded the simulated HubSpot with ${seeded.filter((s) => s.id).length} contacts (addresses as the CRM has them).`,
  );
  crm.faults.set({ rate_limit_next: 2, server_error_next: 1 });
  writeLine(io.stdout, 'The simulated CRM will answer the first requests with 429 (ten-secondly limit) and 503.\n');
  const sentAt = new Map<string, number>();
  for (const [i, { person }] of seeded.entries()) {
    const order = buildOrder({
      order_id: 1001 + i,
      customer_id: 7000 + i,
      email: person.email,
      first_name: person.first_name,
      last_name: person.last_name,
      ...person.checkout,
    });
    const res = await sendShopifyWebhook(`${hearth.url}/webhooks/shopify`, 'orders/create', order, SHOPIFY_SECRET);
    sentAt.set(person.email, Date.now());
    writeLine(
      io.stdout,
      `storefront  order #${1001 + i} for ${person.email} ships to ` +
        `"${person.checkout.address1}${person.checkout.address2 ? ' ' + person.checkout.address2 : ''}" ` +
        `-> Hearth ${res.status}`,
    );
  }
  await settle(hearth);
  // A week later two of them order again, typing the same address their own way.
  for (const [i, { person }] of seeded.entries()) {
    if (!person.respelled) continue;
    const order = buildOrder({
      order_id: 2001 + i,
      customer_id: 7000 + i,
      email: person.email,
      first_name: person.first_name,
      last_name: person.last_name,
      ...person.respelled,
    });
    const res = await sendShopifyWebhook(`${hearth.url}/webhooks/shopify`, 'orders/create', order, SHOPIFY_SECRET);
    writeLine(
      io.stdout,
      `storefront  order #${2001 + i} for ${person.email} ships to ` +
        `"${person.respelled.address1}${person.respelled.address2 ? ' ' + person.respelled.address2 : ''}" ` +
        `(same door, other spelling) -> Hearth ${res.status}`,
    );
  }
  await settle(hearth);
  writeLine(io.stdout, '\nResult in the CRM (standard address fields):');
  for (const { person, id } of seeded) {
    if (!id) {
      writeLine(
        io.stdout,
        `  ${person.email.padEnd(28)} not in the CRM: ` +
          'the write-back is a dead letter (visible at /v1/jobs?status=dead)',
      );
      continue;
    }
    const c = crm.getContact(id)!;
    const writes = crm.history(id);
    const lag = writes.length
      ? `written ${writes.length}x, ${writes[0]!.at - sentAt.get(person.email)!} ms after checkout`
      : 'no write: the CRM already has this delivery point';
    writeLine(
      io.stdout,
      `  ${person.email.padEnd(28)} was "${person.crm.address}" ` +
        `-> now "${c.properties.address}, ${c.properties.city}, ${c.properties.state} ${c.properties.zip}" (${lag})`,
    );
  }
  const echoes = await hearth.hdb.db.selectFrom('inbox_events').select('id').where('status', '=', 'echo').execute();
  writeLine(
    io.stdout,
    `\nHubSpot reported ${echoes.length} of Hearth's own writes back; all recognised as echoes and not re-applied.`,
  );
  writeLine(
    io.stdout,
    `The loyalty platform received ${countByType(loyalty, 'address.corrected')} signed address.corrected webhooks.`,
  );
}

/**
 * A CRM user types an old address over a checkout-validated one; Hearth refuses it (ownership), so
 * the CRM drifts. A reconciliation run measures the drift (scorecard) and heals it per policy, so
 * the console's drift section has a run to show.
 */
async function reconcileAfterCrmEdit(hearth: Hearth, crm: HubSpotSim, apiKey: string, io: CliIo): Promise<void> {
  const maria = crm.listContacts().find((c) => c.properties.email === 'maria.garcia@example.com');
  if (!maria) return;
  crm.updateFromUi(maria.id, { address: '14 Elm St' });
  await settle(hearth);
  const res = await hearth.app.inject({
    method: 'POST',
    url: '/v1/reconcile/runs',
    headers: { authorization: `Bearer ${apiKey}` },
    payload: { wait: true },
  });
  const run = res.json() as { id: string; records: number; scorecard: { field: string; drifted: number }[] };
  if (res.statusCode !== 200) throw new HearthError('internal', `demo reconciliation run failed: ${res.body}`);
  await settle(hearth);
  const drifted = run.scorecard.filter((l) => l.drifted > 0).map((l) => `${l.field} ${l.drifted}`);
  writeLine(
    io.stdout,
    `\nA CRM user typed "14 Elm St" back over Maria's address; Hearth kept the checkout address. ` +
      `Reconciliation run ${run.id} compared ${run.records} CRM records: drift ${drifted.join(', ') || 'none'} ` +
      `(healed per policy; the scorecard is at /v1/reconcile/scorecard).`,
  );
}

/** Maria orders again under a work e-mail: same name and door, other e-mail: a pair for the review queue. */
async function orderUnderNewEmail(hearth: Hearth, io: CliIo): Promise<void> {
  const order = buildOrder({
    order_id: 3001,
    customer_id: 7999,
    email: 'm.garcia@work.example.com',
    first_name: 'Maria',
    last_name: 'Garcia',
    address1: '2200 North Lincoln Avenue',
    address2: 'Apt 4B',
    city: 'Chicago',
    province_code: 'IL',
    zip: '60614',
  });
  await sendShopifyWebhook(`${hearth.url}/webhooks/shopify`, 'orders/create', order, SHOPIFY_SECRET);
  await settle(hearth);
  const pending = await hearth.hdb.db.selectFrom('review_items').select('id').where('status', '=', 'pending').execute();
  writeLine(
    io.stdout,
    `storefront  order #3001 from m.garcia@work.example.com (Maria Garcia, same door, new e-mail): ` +
      `${pending.length} pair(s) wait in the identity review queue (/v1/review).`,
  );
}

function countByType(receiver: Receiver, type: string): number {
  return receiver.received.filter((r) => (r.body as { type?: string }).type === type).length;
}

/** Waits until the inbox is applied and no job is pending or running (bounded). */
async function settle(hearth: Hearth): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await isQuiet(hearth.hdb.db)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function printWhereToLook(io: CliIo, url: string, key: string): void {
  writeLine(
    io.stdout,
    `
Hearth is running at ${url}
  console          ${url}/
  API docs         ${url}/docs
  metrics          ${url}/metrics        (hearth_writeback_lag_seconds, hearth_outbox_jobs, ...)
  API key (admin)  ${key}
Try:
  curl -s -H 'Authorization: Bearer ${key}' '${url}/v1/customers?email=maria.garcia@example.com'
  curl -s -H 'Authorization: Bearer ${key}' '${url}/v1/jobs?status=dead'
  curl -s -H 'Authorization: Bearer ${key}' '${url}/v1/writeback/late'
Ctrl-C stops the demo.`,
  );
}

export type { DemoPerson };
