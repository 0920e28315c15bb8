import type { PostalAddress } from '../../address/types.ts';
import type { BillingStatus, CanonicalContact, CanonicalEvent, InboundEvent } from '../../canonical/types.ts';
import type { ClearableField } from '../../canonical/fields.ts';
import { HearthError } from '../../errors.ts';

/** Prefix of the idempotency keys Hearth sends: Stripe echoes the key in the event it causes. */
export const HEARTH_KEY_PREFIX = 'hearth:';

/** The slice of a Stripe address Hearth reads. */
export interface StripeAddress {
  line1?: string | null;
  line2?: string | null;
  city?: string | null;
  state?: string | null;
  postal_code?: string | null;
  country?: string | null;
}

/** The slice of a Stripe customer Hearth reads. */
export interface StripeCustomer {
  id: string;
  email?: string | null;
  name?: string | null;
  phone?: string | null;
  address?: StripeAddress | null;
  shipping?: { name?: string | null; phone?: string | null; address?: StripeAddress | null } | null;
  metadata?: Record<string, string>;
  deleted?: boolean;
}

interface StripeEvent {
  id: string;
  type: string;
  created: number;
  /** On `*.updated`: the attributes that changed, with their old values (nested: the changed keys only). */
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> | null };
  request?: { id?: string | null; idempotency_key?: string | null } | null;
}

export function addressOf(a: StripeAddress | null | undefined): PostalAddress | null {
  if (!a?.line1) return null;
  return {
    line1: a.line1,
    line2: a.line2 ?? null,
    city: a.city ?? null,
    region: a.state ?? null,
    postal_code: a.postal_code ?? null,
    country: a.country ?? null,
  };
}

/** Stripe keeps one `name`: the first word is the given name, the rest the family name. */
export function contactOf(c: StripeCustomer): CanonicalContact {
  const [given, ...family] = (c.name ?? '').trim().split(/\s+/).filter(Boolean);
  return {
    given_name: given ?? null,
    family_name: family.join(' ') || null,
    email: c.email ?? null,
    phone: c.phone ?? null,
  };
}

/** The vendor values of a customer event (echo fingerprints compare them with what Hearth wrote). */
export function vendorFieldsOf(c: StripeCustomer): Record<string, string | null> {
  return { name: c.name ?? null, phone: c.phone ?? null };
}

/** The canonical fields each Stripe customer attribute feeds. */
const CONTACT_ATTRIBUTES: Record<string, ClearableField[]> = {
  name: ['given_name', 'family_name'],
  email: ['email'],
  phone: ['phone'],
};

/**
 * What a `customer.updated` says changed: the keys of `data.previous_attributes` (Stripe lists
 * every changed attribute there, with its old value). Null when the event carries none (a
 * `customer.created`, or a sender that omits it): then the whole object is the change.
 */
export function changedAttributes(ev: Pick<StripeEvent, 'type' | 'data'>): Set<string> | null {
  const prev = ev.data.previous_attributes;
  if (ev.type !== 'customer.updated' || typeof prev !== 'object' || prev === null || Array.isArray(prev)) return null;
  return new Set(Object.keys(prev));
}

/**
 * The contact change of a customer event: only the fields whose Stripe attribute changed, so a
 * value Stripe merely repeats is neither a change nor drift. The current e-mail, when it did not
 * change, rides along to link the record and is named in `unchanged` (it changes nothing).
 */
function contactChange(c: StripeCustomer, changed: Set<string> | null): ContactChange {
  const full = contactOf(c);
  if (!changed) return { contact: full, vendor: vendorFieldsOf(c), unchanged: [], cleared: [] };
  const contact: CanonicalContact = {};
  const all = vendorFieldsOf(c);
  const vendor: Record<string, string | null> = {};
  const cleared: ClearableField[] = [];
  for (const [attr, fields] of Object.entries(CONTACT_ATTRIBUTES)) {
    if (!changed.has(attr)) continue;
    for (const f of fields) Object.assign(contact, { [f]: full[f] ?? null });
    if (attr in all) vendor[attr] = all[attr] ?? null;
    // Changed to nothing: Stripe says the attribute was emptied (a deleted phone), a clear.
    const now = (c as unknown as Record<string, unknown>)[attr];
    if (now === null || now === undefined || (typeof now === 'string' && !now.trim())) cleared.push(...fields);
  }
  const unchanged: (keyof CanonicalContact)[] = [];
  if (contact.email === undefined && full.email) {
    contact.email = full.email;
    unchanged.push('email');
  }
  return { contact, vendor, unchanged, cleared };
}

interface ContactChange {
  contact: CanonicalContact;
  vendor: Record<string, string | null>;
  unchanged: (keyof CanonicalContact)[];
  cleared: ClearableField[];
}

function parseEvent(raw: Buffer): StripeEvent {
  let body: Partial<StripeEvent>;
  try {
    body = JSON.parse(raw.toString('utf8')) as Partial<StripeEvent>;
  } catch {
    throw new HearthError('bad_request', 'stripe: body is not JSON', { field: 'body' });
  }
  if (typeof body.id !== 'string') throw new HearthError('bad_request', 'stripe: id is required', { field: 'id' });
  if (typeof body.type !== 'string')
    throw new HearthError('bad_request', 'stripe: type is required', { field: 'type' });
  if (typeof body.created !== 'number')
    throw new HearthError('bad_request', 'stripe: created is required', { field: 'created' });
  if (!body.data || typeof body.data.object !== 'object' || body.data.object === null)
    throw new HearthError('bad_request', 'stripe: data.object is required', { field: 'data.object' });
  return body as StripeEvent;
}

function requireString(v: unknown, field: string): string {
  if (typeof v === 'string' && v) return v;
  throw new HearthError('bad_request', `stripe: ${field} is required`, { field });
}

/**
 * Maps one Stripe event to canonical events; the Stripe event id makes them idempotent (a
 * redelivery is stored once) and its `created` orders them (an older customer state is stale).
 */
export function parseStripeEvent(raw: Buffer, source: string): InboundEvent[] {
  const ev = parseEvent(raw);
  const at = ev.created * 1000;
  const obj = ev.data.object;
  const one = (event: CanonicalEvent, suffix = ''): InboundEvent => ({ delivery_id: `${ev.id}${suffix}`, event });
  switch (ev.type) {
    case 'customer.created':
    case 'customer.updated': {
      const c = obj as unknown as StripeCustomer;
      const external_id = requireString(c.id, 'data.object.id');
      const changed = changedAttributes(ev);
      const { contact, vendor, unchanged, cleared } = contactChange(c, changed);
      const hearthId = c.metadata?.hearth_id;
      const out: InboundEvent[] = [];
      // A change that touches no contact attribute (a balance, a default card) changes nobody,
      // unless it is the metadata that now names the Hearth customer (it links the record).
      const linking = Boolean(hearthId) && (!changed || changed.has('metadata'));
      const touched = !changed || Object.keys(CONTACT_ATTRIBUTES).some((a) => changed.has(a));
      if (touched || linking)
        out.push(
          one({
            type: 'contact.updated',
            source,
            external_id,
            contact,
            vendor_fields: vendor,
            origin_is_hearth: (ev.request?.idempotency_key ?? '').startsWith(HEARTH_KEY_PREFIX),
            occurred_at: at,
            version: ev.created,
            ...(unchanged.length ? { unchanged } : {}),
            ...(cleared.length ? { cleared } : {}),
            // Hearth writes its id to the customer's metadata: it links a record the crosswalk lost.
            ...(hearthId ? { hearth_id: hearthId } : {}),
          }),
        );
      if (!changed || changed.has('address'))
        out.push(
          one(
            {
              type: 'billing.address_changed',
              source,
              external_id,
              // The e-mail links the billing record; the rest is the contact event's business.
              contact: !changed ? contact : contact.email ? { email: contact.email } : {},
              billing_address: addressOf(c.address),
              occurred_at: at,
            },
            ':billing_address',
          ),
        );
      return out.length ? out : [one({ type: 'unsupported', source, vendor_type: ev.type })];
    }
    case 'customer.deleted': {
      const external_id = requireString(obj.id, 'data.object.id');
      const contact = { email: (obj.email as string | null) ?? null };
      return [
        one({
          type: 'billing.status_changed',
          source,
          external_id,
          contact,
          status: 'canceled',
          reason: 'deleted',
          occurred_at: at,
        }),
      ];
    }
    case 'invoice.payment_failed':
    case 'invoice.paid':
      return [one(invoiceEvent(ev, obj, source, at))];
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
    case 'customer.subscription.deleted':
      return [one(subscriptionEvent(ev, obj, source, at))];
    default:
      return [one({ type: 'unsupported', source, vendor_type: ev.type })];
  }
}

/** A failed invoice makes the account past due; one Stripe will not retry again, delinquent. */
function invoiceEvent(ev: StripeEvent, obj: Record<string, unknown>, source: string, at: number): CanonicalEvent {
  const failed = ev.type === 'invoice.payment_failed';
  const finalFailure = failed && obj.next_payment_attempt === null;
  const status: BillingStatus = !failed ? 'active' : finalFailure ? 'delinquent' : 'past_due';
  return {
    type: 'billing.status_changed',
    source,
    external_id: requireString(obj.customer, 'data.object.customer'),
    contact: { email: (obj.customer_email as string | null) ?? null },
    status,
    reason: typeof obj.id === 'string' ? obj.id : null,
    occurred_at: at,
  };
}

function subscriptionEvent(ev: StripeEvent, obj: Record<string, unknown>, source: string, at: number): CanonicalEvent {
  const items = (obj.items as { data?: { price?: { nickname?: string | null; product?: unknown } }[] } | undefined)
    ?.data;
  const price = items?.[0]?.price;
  const name = price?.nickname ?? (typeof price?.product === 'string' ? price.product : null);
  const status = ev.type === 'customer.subscription.deleted' ? 'canceled' : String(obj.status ?? 'active');
  return {
    type: 'subscription.changed',
    source,
    external_id: requireString(obj.customer, 'data.object.customer'),
    contact: {},
    subscription: { id: requireString(obj.id, 'data.object.id'), name, status },
    occurred_at: at,
  };
}
