import type Stripe from 'stripe';
import {
  PROFILE_PROJECT,
  type Connector,
  type DeliveryResult,
  type OutboundJob,
  type ProfileProjectPayload,
  type PulledContact,
} from '../../canonical/types.ts';
import { kindOfStatus, retryAfter } from '../common/http.ts';
import { addressOf, contactOf, HEARTH_KEY_PREFIX, parseStripeEvent, type StripeCustomer } from './mapping.ts';
import { verifyStripeSignature } from './signature.ts';

export interface StripeConfig {
  api_key: string;
  /** One secret, or several while rolling the endpoint secret. */
  webhook_secret: string | string[];
  /** The API's base URL (a simulator in tests; default Stripe's). */
  base_url: string;
  tolerance_seconds: number;
}

/**
 * The official SDK pointed at the configured base URL; retries are the outbox's, not the SDK's.
 * Loaded on first use: the SDK takes a second or more to import, which every CLI command would pay.
 */
export async function stripeClient(cfg: StripeConfig): Promise<Stripe> {
  const url = new URL(cfg.base_url);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  const { default: StripeSdk } = await import('stripe');
  return new StripeSdk(cfg.api_key, {
    host: url.hostname,
    port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443,
    protocol,
    maxNetworkRetries: 0,
    timeout: 20_000,
  });
}

/** What Hearth writes to a Stripe customer: the fields it owns or projects there. */
export function customerUpdate(p: ProfileProjectPayload): Stripe.CustomerUpdateParams {
  const name = [p.given_name, p.family_name].filter(Boolean).join(' ') || undefined;
  const a = p.address;
  // A field its owner cleared is cleared in Stripe too ('' unsets it); a field Hearth never knew is left alone.
  const cleared = new Set(p.cleared ?? []);
  const clearName = !name && cleared.has('given_name') && cleared.has('family_name');
  return {
    ...(name ? { name } : clearName ? { name: '' } : {}),
    ...(p.phone ? { phone: p.phone } : cleared.has('phone') ? { phone: '' } : {}),
    ...(a && name
      ? {
          shipping: {
            name,
            ...(p.phone ? { phone: p.phone } : {}),
            address: {
              line1: a.line1,
              line2: a.line2 ?? '',
              city: a.city ?? '',
              state: a.region ?? '',
              postal_code: a.postal_code ?? '',
              country: a.country ?? '',
            },
          },
        }
      : {}),
    // An empty string deletes a metadata key in Stripe.
    metadata: { hearth_id: p.customer_id, household_id: p.household_id ?? '' },
  };
}

function failure(err: unknown, now: () => number): DeliveryResult {
  const e = err as { statusCode?: number; message?: string; headers?: Record<string, string> };
  const status = e.statusCode ?? 0;
  const kind = status ? kindOfStatus(status) : 'transient';
  return {
    ok: false,
    kind,
    message: `stripe ${status || 'network'}: ${e.message ?? 'error'}`,
    ...retryAfter(e.headers?.['retry-after'] ?? null, now),
  };
}

/** Clauses Stripe's search takes in one query (`email:'a' OR email:'b'`). */
const SEARCH_CLAUSES = 10;

/**
 * The Stripe customers of the batch's e-mails that no crosswalk id names, found with one search
 * per ten e-mails instead of one list call each. Search is a fast path only: Stripe indexes new
 * customers with a delay, so an e-mail it does not find is still looked up by `list` (exact).
 */
async function searchByEmail(stripe: Stripe, emails: string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  // A quote or backslash would need escaping in the query language: those go to `list`.
  const plain = [...new Set(emails)].filter((e) => !/['\\]/.test(e));
  for (let i = 0; i < plain.length; i += SEARCH_CLAUSES) {
    const part = plain.slice(i, i + SEARCH_CLAUSES);
    try {
      const page = await stripe.customers.search({
        query: part.map((e) => `email:'${e}'`).join(' OR '),
        limit: 100,
      });
      // An e-mail several customers share is left to `list` (it answers the newest first, as before).
      const seen = new Map<string, number>();
      for (const c of page.data) if (c.email) seen.set(c.email, (seen.get(c.email) ?? 0) + 1);
      for (const c of page.data) if (c.email && seen.get(c.email) === 1) found.set(c.email, c.id);
    } catch {
      // Search refused or unavailable: each e-mail is listed on its own.
    }
  }
  return found;
}

async function project(
  stripe: Stripe,
  job: OutboundJob<ProfileProjectPayload>,
  now: () => number,
  searched: Map<string, string>,
): Promise<DeliveryResult> {
  const p = job.payload;
  try {
    let id = p.external_id ?? (p.email ? (searched.get(p.email) ?? null) : null);
    if (!id && p.email) id = (await stripe.customers.list({ email: p.email, limit: 1 })).data[0]?.id ?? null;
    // Hearth projects onto Stripe customers; it never creates one (billing creates customers).
    if (!id) return { ok: true };
    const params = customerUpdate(p);
    // The key is the job's: a retry after a lost response replays Stripe's answer, never writes twice.
    await stripe.customers.update(id, params, { idempotencyKey: `${HEARTH_KEY_PREFIX}${job.id}` });
    // As Stripe then reports them: a cleared attribute is null.
    const written = { name: params.name || null, phone: params.phone || null };
    return { ok: true, external_id: id, written };
  } catch (err) {
    return failure(err, now);
  }
}

function pulled(c: Stripe.Customer): PulledContact {
  const s = c as unknown as StripeCustomer;
  return {
    external_id: c.id,
    contact: { ...contactOf(s), address: addressOf(s.shipping?.address) },
    properties: { name: c.name ?? null, phone: c.phone ?? null, hearth_id: c.metadata?.hearth_id ?? null },
    updated_at: null,
  };
}

export function createStripeConnector(cfg: StripeConfig, now: () => number = Date.now): Connector {
  let client: Promise<Stripe> | null = null;
  const stripe = () => (client ??= stripeClient(cfg));
  const secrets = Array.isArray(cfg.webhook_secret) ? cfg.webhook_secret : [cfg.webhook_secret];
  return {
    id: 'stripe',
    ingress: {
      verify: (req) =>
        verifyStripeSignature(req.rawBody, req.headers['stripe-signature'], secrets, req.now, cfg.tolerance_seconds),
      parse: (req) => parseStripeEvent(req.rawBody, 'stripe'),
    },
    outbound: {
      kinds: [PROFILE_PROJECT],
      deliver: async (jobs) => {
        const sdk = await stripe();
        const batch = jobs as OutboundJob<ProfileProjectPayload>[];
        const unlinked = batch.flatMap((j) => (!j.payload.external_id && j.payload.email ? [j.payload.email] : []));
        // One job alone gains nothing from a search: it is listed directly.
        const searched = unlinked.length > 1 ? await searchByEmail(sdk, unlinked) : new Map<string, string>();
        return Promise.all(batch.map((j) => project(sdk, j, now, searched)));
      },
    },
    source: {
      async listContacts(cursor, opts) {
        const page = await (await stripe()).customers.list({
          limit: opts.limit,
          ...(cursor ? { starting_after: cursor } : {}),
        });
        const last = page.data.at(-1);
        return { records: page.data.map(pulled), next_cursor: page.has_more && last ? last.id : null };
      },
    },
    maxBatch: 25,
  };
}
