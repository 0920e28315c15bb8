import type { Hearth } from '../runtime.ts';
import type { HubSpotSim } from '../../sim/hubspot.ts';
import { sendStripeEvent, startStripeSim, type StripeSim } from '../../sim/stripe.ts';
import { sendZendeskWebhook, startZendeskSim, type ZendeskSim } from '../../sim/zendesk.ts';

const STRIPE_SECRET = 'whsec_demo_stripe';
const ZENDESK_SECRET = 'zendesk-demo-signing-secret';

export interface BillingSims {
  stripe: StripeSim;
  zendesk: ZendeskSim;
  /** The `connectors.stripe` and `connectors.zendesk` config pointing at the simulators. */
  connectors: { stripe: Record<string, unknown>; zendesk: Record<string, unknown> };
  close(): Promise<void>;
}

/** Starts the simulated Stripe and Zendesk the demo configures Hearth with. */
export async function startBillingSims(): Promise<BillingSims> {
  const stripe = await startStripeSim();
  const zendesk = await startZendeskSim().catch(async (err) => {
    await stripe.close();
    throw err;
  });
  return {
    stripe,
    zendesk,
    connectors: {
      stripe: { api_key: stripe.apiKey, webhook_secret: STRIPE_SECRET, base_url: stripe.url },
      zendesk: {
        email: zendesk.email,
        api_token: zendesk.token,
        base_url: zendesk.url,
        webhook_secret: ZENDESK_SECRET,
        job_poll_ms: 20,
      },
    },
    close: async () => {
      await Promise.all([stripe.close(), zendesk.close()]);
    },
  };
}

export interface BillingDemo {
  crm: HubSpotSim;
  settle(): Promise<void>;
  write(line: string): void;
}

const EMAIL = 'maria.garcia@example.com';

/**
 * Billing and support: Maria's card fails in Stripe and the support agent sees it on her Zendesk
 * user; then an agent corrects her phone in Zendesk and the correction reaches the CRM (an agent's
 * phone outranks the CRM's under the default ownership policy).
 */
export async function runBillingDemo(hearth: Hearth, sims: BillingSims, d: BillingDemo): Promise<void> {
  try {
    await scene(hearth, sims, d);
  } catch (err) {
    d.write(`  billing scene stopped: ${(err as Error).message}`);
  }
}

/** Polls `probe` (every 10 ms, up to 30 s) and returns its first truthy answer. */
async function waitFor<T>(probe: () => T | null | undefined, what: string): Promise<T> {
  const until = Date.now() + 30_000;
  for (;;) {
    const hit = probe();
    if (hit) return hit;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function scene(hearth: Hearth, sims: BillingSims, d: BillingDemo): Promise<void> {
  const { stripe, zendesk, crm } = { ...sims, crm: d.crm };
  d.write('\nBilling and support');
  const customer = (await hearth.hdb.db
    .selectFrom('customers')
    .select('id')
    .where('email', '=', EMAIL)
    .where('merged_into', 'is', null)
    .executeTakeFirst()) ?? { id: '' };
  if (!customer.id) throw new Error(`no customer ${EMAIL}`);
  const cus = stripe.createCustomer({ email: EMAIL, name: 'Maria Garcia' });
  const hook = `${hearth.url}/webhooks/stripe`;
  await sendStripeEvent(hook, stripe.event('customer.created', cus), [STRIPE_SECRET]);
  await d.settle();

  const invoice = {
    id: 'in_demo_1',
    object: 'invoice',
    customer: cus.id,
    customer_email: EMAIL,
    next_payment_attempt: 1,
  };
  const sentAt = Date.now();
  const res = await sendStripeEvent(hook, stripe.event('invoice.payment_failed', invoice), [STRIPE_SECRET]);
  const user = await waitFor(() => {
    const u = zendesk.byExternalId(customer.id);
    return u?.user_fields.billing_status === 'past_due' ? u : null;
  }, 'billing_status in Zendesk');
  d.write(
    `  Stripe  invoice.payment_failed for ${EMAIL} (signed) -> Hearth ${res.status}; the support agent's ` +
      `Zendesk user ${user.id} shows billing_status: past_due after ${Date.now() - sentAt} ms.`,
  );
  await d.settle();

  const phone = '+13125550177';
  // One event per changed attribute: a phone correction is one phone_number identity event.
  const [edit] = zendesk.agentEdit(user.id, { phone });
  const editedAt = Date.now();
  const zres = await sendZendeskWebhook(`${hearth.url}/webhooks/zendesk`, ZENDESK_SECRET, edit);
  const contact = await waitFor(
    () => crm.listContacts().find((c) => c.properties.email === EMAIL && c.properties.phone === phone),
    'the phone in HubSpot',
  );
  d.write(
    `  Zendesk an agent corrected ${EMAIL}'s phone to ${phone} (signed user webhook) -> Hearth ${zres.status}; ` +
      `HubSpot contact ${contact.id} has phone ${phone} after ${Date.now() - editedAt} ms ` +
      '(ownership: phone zendesk > hubspot).',
  );
  await d.settle();

  // Support reads the billing status and may not set it: the agent's edit is a finding, not applied.
  const [status] = zendesk.agentEdit(user.id, { user_fields: { billing_status: 'active' } });
  const fres = await sendZendeskWebhook(`${hearth.url}/webhooks/zendesk`, ZENDESK_SECRET, status);
  await d.settle();
  const finding = await hearth.hdb.db
    .selectFrom('drift_findings')
    .select(['id', 'canonical_value', 'system_value'])
    .where('customer_id', '=', customer.id)
    .where('system', '=', 'zendesk')
    .where('field', '=', 'billing_status')
    .where('status', '=', 'open')
    .executeTakeFirst();
  d.write(
    `  Zendesk an agent set billing_status: active -> Hearth ${fres.status}; not applied (ownership: ` +
      `billing_status [stripe]); ${finding ? `open finding ${finding.id}: Hearth ${finding.canonical_value}, ` : ''}` +
      `${finding ? `Zendesk ${finding.system_value} (GET /v1/reconcile/findings)` : 'no finding recorded'}.`,
  );
}
