import type { PostalAddress } from '../../address/types.ts';
import type { BillingStatus, CanonicalContact, InboundEvent, ProfileProjectPayload } from '../../canonical/types.ts';
import { HearthError } from '../../errors.ts';

/** The custom user fields Hearth keeps on a Zendesk user (keys; `hearth doctor`-style setup creates them). */
export const USER_FIELDS = [
  'household_id',
  'hierarchy_role',
  'loyalty_tier',
  'points_balance',
  'billing_status',
  'billing_status_since',
  'subscriptions',
  'address_of_record',
] as const;

export interface ZendeskUser {
  id?: number;
  name: string;
  email?: string | null;
  phone?: string | null;
  external_id?: string | null;
  user_fields?: Record<string, string | number | null>;
}

const line = (p: ProfileProjectPayload): string | null => {
  const a = p.address;
  if (!a) return null;
  return [a.line1, a.line2, a.city, [a.region, a.postal_code].filter(Boolean).join(' '), a.country]
    .filter(Boolean)
    .join(', ');
};

/**
 * The Zendesk user for a customer: matched by `external_id` (the Hearth id), else e-mail. Zendesk
 * users have no address: the address of record is a user field, as are household, tier, points,
 * billing status and subscriptions, which support reads and never sets.
 */
export function userOf(p: ProfileProjectPayload): ZendeskUser {
  const name = [p.given_name, p.family_name].filter(Boolean).join(' ') || p.email || p.customer_id;
  return {
    name,
    external_id: p.customer_id,
    ...(p.email ? { email: p.email } : {}),
    ...(p.phone ? { phone: p.phone } : {}),
    user_fields: {
      household_id: p.household_id,
      hierarchy_role: p.hierarchy_role,
      loyalty_tier: p.loyalty_tier,
      points_balance: p.points_balance,
      billing_status: p.billing_status,
      billing_status_since: p.billing_status_since ? new Date(p.billing_status_since).toISOString() : null,
      subscriptions: p.subscriptions.map((s) => `${s.name ?? s.id} (${s.status})`).join('; ') || null,
      address_of_record: line(p),
    },
  };
}

/**
 * The address a Zendesk user holds, read back from its `address_of_record` line (the inverse of
 * what `userOf` writes: `line1[, line2], city, region postal, country`), so reconciliation compares
 * what an agent sees; a line of another shape is kept whole as line 1 (it then reads as drift).
 */
export function addressOfRecord(text: string | number | null | undefined): PostalAddress | null {
  if (typeof text !== 'string' || !text.trim()) return null;
  const parts = text.split(', ').map((s) => s.trim());
  if (parts.length < 4 || parts.length > 5) return { line1: text.trim() };
  const [line1, ...rest] = parts;
  const country = rest.pop()!;
  const regionPostal = rest.pop()!;
  const city = rest.pop()!;
  const cut = regionPostal.lastIndexOf(' ');
  return {
    line1: line1!,
    line2: rest[0] ?? null,
    city,
    region: cut > 0 ? regionPostal.slice(0, cut) : regionPostal,
    postal_code: cut > 0 ? regionPostal.slice(cut + 1) : null,
    country,
  };
}

/** The values echo suppression compares (what Hearth wrote, as a Zendesk event reports them). */
export function vendorFieldsOf(u: Pick<ZendeskUser, 'name' | 'email' | 'phone'>): Record<string, string | null> {
  return { name: u.name ?? null, email: u.email ?? null, phone: u.phone ?? null };
}

function contactOf(u: { name?: string | null; email?: string | null; phone?: string | null }): CanonicalContact {
  const [given, ...family] = (u.name ?? '').trim().split(/\s+/).filter(Boolean);
  return {
    ...(given ? { given_name: given, family_name: family.join(' ') || null } : {}),
    ...(u.email ? { email: u.email } : {}),
    ...(u.phone !== undefined ? { phone: u.phone } : {}),
  };
}

interface ZendeskWebhook {
  id?: string;
  type?: string;
  time?: string;
  detail?: {
    id?: string | number;
    name?: string;
    email?: string | null;
    phone?: string | null;
    user_fields?: Record<string, string | number | null>;
  };
}

const BILLING_STATUSES: readonly BillingStatus[] = ['active', 'past_due', 'delinquent', 'canceled'];

/**
 * What an agent set in Hearth's user fields (`user.custom_field_changed`): the address of record
 * becomes the contact's address and the billing status a billing change, both under the ownership
 * policy (by default Zendesk may set neither: the change becomes a drift finding, not applied).
 */
function userFieldEvents(
  body: ZendeskWebhook,
  source: string,
  externalId: string,
  at: number,
): { address?: PostalAddress | null; events: InboundEvent[] } {
  const fields = body.detail?.user_fields;
  if (!body.type?.endsWith('.custom_field_changed') || !fields) return { events: [] };
  const status = fields.billing_status;
  const events: InboundEvent[] =
    typeof status === 'string' && (BILLING_STATUSES as readonly string[]).includes(status)
      ? [
          {
            delivery_id: `${body.id}:billing_status`,
            event: {
              type: 'billing.status_changed',
              source,
              external_id: externalId,
              contact: body.detail?.email ? { email: body.detail.email } : {},
              status: status as BillingStatus,
              reason: 'zendesk agent',
              occurred_at: at,
            },
          },
        ]
      : [];
  return 'address_of_record' in fields ? { address: addressOfRecord(fields.address_of_record), events } : { events };
}

/**
 * A Zendesk user event (`zen:event-type:user.*`, the user in `detail`) becomes a contact change
 * of the Zendesk user; the event id makes it idempotent. Other event types are unsupported.
 */
export function parseZendeskEvent(raw: Buffer, source: string, now: number): InboundEvent[] {
  let body: ZendeskWebhook;
  try {
    body = JSON.parse(raw.toString('utf8')) as ZendeskWebhook;
  } catch {
    throw new HearthError('bad_request', 'zendesk: body is not JSON', { field: 'body' });
  }
  if (typeof body.id !== 'string' || !body.id)
    throw new HearthError('bad_request', 'zendesk: id is required', { field: 'id' });
  if (typeof body.type !== 'string')
    throw new HearthError('bad_request', 'zendesk: type is required', { field: 'type' });
  if (!body.type.startsWith('zen:event-type:user.'))
    return [{ delivery_id: body.id, event: { type: 'unsupported', source, vendor_type: body.type } }];
  const d = body.detail;
  if (!d || (typeof d.id !== 'string' && typeof d.id !== 'number'))
    throw new HearthError('bad_request', 'zendesk: detail.id is required', { field: 'detail.id' });
  const at = body.time ? Date.parse(body.time) : Number.NaN;
  const fields = vendorFieldsOf({ name: d.name ?? '', email: d.email ?? null, phone: d.phone ?? null });
  const occurred = Number.isNaN(at) ? now : at;
  const extra = userFieldEvents(body, source, String(d.id), occurred);
  const contact = contactOf(d);
  if (extra.address) contact.address = extra.address;
  return [
    {
      delivery_id: body.id,
      event: {
        type: 'contact.updated',
        source,
        external_id: String(d.id),
        contact,
        vendor_fields: Object.fromEntries(Object.entries(fields).filter(([k]) => k in d)),
        origin_is_hearth: false,
        occurred_at: Number.isNaN(at) ? now : at,
        ...(Number.isNaN(at) ? {} : { version: at }),
      },
    },
    ...extra.events,
  ];
}
