import type { Hearth } from '../runtime.ts';
import { HearthError } from '../errors.ts';
import type { HubSpotSim } from '../../sim/hubspot.ts';
import { buildOrder, sendShopifyWebhook } from '../../sim/shopify.ts';

export interface ConsoleDemoOptions {
  shopify_secret: string;
  api_key: string;
  settle: () => Promise<void>;
  write: (line: string) => void;
}

/**
 * What the demo adds so that every console page has something to show, through the same paths
 * production uses: a storefront webhook delivered late (its write-back is past the sync window),
 * and two more reconciliation runs after CRM users type old addresses back (drift over time).
 * The dead letter, the review item and the household with its ledger come from the demo before.
 */
export async function fillConsole(hearth: Hearth, crm: HubSpotSim, o: ConsoleDemoOptions): Promise<void> {
  // A storefront outage held this order's webhook back for 4 minutes: the move it carries reaches
  // the CRM well past the 60 s window, and the write-back page shows it as late.
  const placed = new Date(Date.now() - 4 * 60_000).toISOString();
  const order = buildOrder({
    order_id: 4001,
    customer_id: 7001,
    email: 'james.chen@example.com',
    first_name: 'James',
    last_name: 'Chen',
    address1: '40 Commonwealth Avenue',
    address2: 'Apt 2',
    city: 'Boston',
    province_code: 'MA',
    zip: '02116',
    created_at: placed,
  });
  await sendShopifyWebhook(`${hearth.url}/webhooks/shopify`, 'orders/create', order, o.shopify_secret);
  await o.settle();
  o.write(
    `\nstorefront  order #4001 for james.chen@example.com, placed 4 minutes ago, delivered only now (outage): ` +
      'the move reaches the CRM past the sync window (console: Write-back).',
  );

  // Two CRM users type old addresses back: the next run measures two drifted records and heals
  // them; the run after finds none. The drift page charts the three runs.
  const byEmail = (email: string) => crm.listContacts().find((c) => c.properties.email === email);
  const liam = byEmail('liam.oconnor@example.com');
  const aisha = byEmail('aisha.johnson@example.com');
  if (liam) crm.updateFromUi(liam.id, { address: '9 Pine Ct', zip: '80202' });
  if (aisha) crm.updateFromUi(aisha.id, { address: '501 W 5th St' });
  await o.settle();
  const drift: string[] = [];
  for (let i = 0; i < 2; i++) {
    const res = await hearth.app.inject({
      method: 'POST',
      url: '/v1/reconcile/runs',
      headers: { authorization: `Bearer ${o.api_key}` },
      payload: { wait: true },
    });
    if (res.statusCode !== 200) throw new HearthError('internal', `demo reconciliation run failed: ${res.body}`);
    const run = res.json() as { scorecard: { field: string; drifted: number }[] };
    drift.push(String(run.scorecard.reduce((n, l) => n + l.drifted, 0)));
    await o.settle();
  }
  o.write(
    `Two CRM users typed old addresses back; reconciliation runs found ${drift.join(' then ')} drifted ` +
      'field(s) and healed them (console: Drift charts every run).',
  );
}
