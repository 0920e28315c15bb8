import { type HubSpotSim, startHubSpotSim } from '../sim/hubspot.ts';
import { type Receiver, startReceiver } from '../sim/receiver.ts';
import { type StripeSim, type StripeSimCustomer, startStripeSim } from '../sim/stripe.ts';
import { startZendeskSim, type ZendeskSim } from '../sim/zendesk.ts';
import { serveParent } from './procs.ts';

/**
 * The billing bench's simulators in their own process, driven over IPC (bench/procs.ts forkChild):
 * HubSpot (the write-back CRM), Stripe, Zendesk and a webhook reader. Each records when it
 * acknowledged a write, so lags are measured from the load generator's send (one machine, one
 * clock) to the simulator's answer, not from Hearth's view of its own work.
 */
interface Sims {
  crm: HubSpotSim;
  stripe: StripeSim;
  zendesk: ZendeskSim;
  receiver: Receiver;
}
let sims: Sims | undefined;

const contact = (email: string) => ({
  email,
  address: '1 Old Rd',
  city: 'Austin',
  state: 'TX',
  zip: '78701',
  country: 'US',
});

serveParent({
  start: async () => {
    sims ??= {
      crm: await startHubSpotSim(),
      stripe: await startStripeSim(),
      zendesk: await startZendeskSim(),
      receiver: await startReceiver(),
    };
    const { crm, stripe, zendesk, receiver } = sims;
    return {
      crm: { url: crm.url, token: crm.token },
      stripe: { url: stripe.url, api_key: stripe.apiKey },
      zendesk: { url: zendesk.url, email: zendesk.email, token: zendesk.token },
      receiver: { url: receiver.url },
    };
  },
  /** People `${prefix}${i}@example.com` in the CRM and, with `stripe`, as Stripe customers. */
  seed: ({ n, prefix, stripe }: { n: number; prefix: string; stripe: boolean }) => {
    const s = sims!;
    const out: { crm_id: string; customer: StripeSimCustomer | null }[] = [];
    for (let i = 0; i < n; i++) {
      const email = `${prefix}${i}@example.com`;
      const crmId = s.crm.createContact(contact(email));
      out.push({ crm_id: crmId, customer: stripe ? s.stripe.createCustomer({ email, name: `Bea Bench${i}` }) : null });
    }
    return out;
  },
  /** When HubSpot first acknowledged an address write to each contact (ms since epoch; null if none). */
  crmAcks: ({ ids }: { ids: string[] }) =>
    ids.map((id) => sims!.crm.history(id).find((h) => h.properties.city !== undefined)?.at ?? null),
  /** When Zendesk first applied `user_fields[field] = value` to each e-mail's user (null if not yet). */
  zendeskAcks: ({ emails, field, value }: { emails: string[]; field: string; value: string }) => {
    const s = sims!;
    const byEmail = new Map([...s.zendesk.users.values()].map((u) => [u.email, u.id]));
    return emails.map((email) => {
      const id = byEmail.get(email);
      if (id === undefined) return null;
      return s.zendesk.history(id).find((h) => h.user_fields[field] === value)?.at ?? null;
    });
  },
  /** The last acknowledgement each system gave (ms since epoch) and how many writes it took. */
  confirmations: () => {
    const s = sims!;
    return {
      zendesk_batches: s.zendesk.batches.length,
      zendesk_users_written: s.zendesk.batches.reduce((a, b) => a + b, 0),
      stripe_updates: s.stripe.updates.length,
      webhook_deliveries: s.receiver.received.length,
    };
  },
});
