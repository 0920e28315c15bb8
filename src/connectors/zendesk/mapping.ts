import type { PostalAddress } from '../../address/types.ts';
import type { BillingStatus, CanonicalContact, InboundEvent, ProfileProjectPayload } from '../../canonical/types.ts';
import type { ClearableField } from '../../canonical/fields.ts';
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

type UserFieldKey = (typeof USER_FIELDS)[number];

/** How each user field Hearth writes is created: Zendesk's field type and the title agents see. */
export const USER_FIELD_DEFINITIONS: Record<UserFieldKey, { type: 'text' | 'integer'; title: string }> = {
  household_id: { type: 'text', title: 'Household (Hearth)' },
  hierarchy_role: { type: 'text', title: 'Household role' },
  loyalty_tier: { type: 'text', title: 'Loyalty tier' },
  points_balance: { type: 'integer', title: 'Points balance' },
  billing_status: { type: 'text', title: 'Billing status' },
  // An ISO time, not a Zendesk date field (those take a day only).
  billing_status_since: { type: 'text', title: 'Billing status since' },
  subscriptions: { type: 'text', title: 'Subscriptions' },
  address_of_record: { type: 'text', title: 'Address of record' },
};

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
    // A phone its owner cleared is removed from the user too; one Hearth never knew is left alone.
    ...(p.phone ? { phone: p.phone } : p.cleared?.includes('phone') ? { phone: null } : {}),
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

/** A user identity as a Zendesk identity event reports it. */
interface ZendeskIdentity {
  id?: number | string;
  type?: string;
  value?: string | null;
  primary?: boolean;
}

/**
 * A Zendesk event webhook (`developer.zendesk.com/api-reference/webhooks/event-types/user-events`):
 * `detail` is the user as it is now, but only its ids, e-mail, external id, role and times (never
 * its name, phone or user fields); what changed is in `event`, one attribute per event.
 */
interface ZendeskWebhook {
  id?: string;
  type?: string;
  time?: string;
  subject?: string;
  detail?: {
    id?: string | number;
    email?: string | null;
    external_id?: string | null;
    role?: string;
  };
  event?: {
    current?: unknown;
    previous?: unknown;
    field?: { id?: number | string; title?: string; type?: string; key?: string };
  };
}

const BILLING_STATUSES: readonly BillingStatus[] = ['active', 'past_due', 'delinquent', 'canceled'];

const bad = (field: string, what: string) => new HearthError('bad_request', `zendesk: ${field} ${what}`, { field });

function nameContact(name: string): CanonicalContact {
  const [given, ...family] = name.trim().split(/\s+/).filter(Boolean);
  return given ? { given_name: given, family_name: family.join(' ') || null } : {};
}

/** The Hearth user field a `user.custom_field_changed` names: by key, else by the title Hearth gives it. */
export function userFieldOf(field: { key?: string; title?: string }): UserFieldKey | null {
  const byKey = USER_FIELDS.find((k) => k === field.key);
  if (byKey) return byKey;
  const title = field.title?.trim().toLowerCase();
  return USER_FIELDS.find((k) => USER_FIELD_DEFINITIONS[k].title.toLowerCase() === title) ?? null;
}

function isIdentity(v: unknown): v is ZendeskIdentity {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as ZendeskIdentity).type === 'string';
}

/** What one Zendesk user event changed, as contact fields (with the raw values echo suppression compares). */
type Change =
  | {
      kind: 'contact';
      contact: CanonicalContact;
      vendor: Record<string, string | null>;
      hearthId?: string | null;
      /** The agent emptied the field (a phone identity deleted): a clear, not "no value". */
      cleared?: ClearableField[];
    }
  | { kind: 'billing'; status: BillingStatus }
  | { kind: 'none' };

/**
 * The change one supported user event carries, or `none` (stored, ignored). A type that needs
 * `event` and comes without it (or with it misshapen) is a bad request naming the field.
 */
function changeOf(kind: string, ev: ZendeskWebhook['event']): Change {
  const need = (): NonNullable<ZendeskWebhook['event']> => {
    if (typeof ev !== 'object' || ev === null || Array.isArray(ev)) throw bad('event', 'is required');
    return ev;
  };
  switch (kind) {
    case 'name_changed': {
      const { current } = need();
      if (typeof current !== 'string') throw bad('event.current', 'must be the new name (a string)');
      return { kind: 'contact', contact: nameContact(current), vendor: { name: current } };
    }
    case 'identity_created':
    case 'identity_changed': {
      const { current } = need();
      if (!isIdentity(current)) throw bad('event.current', 'must be an identity {type, value}');
      const value = typeof current.value === 'string' && current.value.trim() ? current.value.trim() : null;
      // The user's phone is its (primary) phone_number identity; its e-mail the primary e-mail one.
      if (current.type === 'phone_number' && current.primary !== false)
        return {
          kind: 'contact',
          contact: { phone: value },
          vendor: { phone: value },
          ...(value === null ? { cleared: ['phone' as const] } : {}),
        };
      if (current.type === 'email' && current.primary === true && value)
        return { kind: 'contact', contact: { email: value }, vendor: { email: value } };
      return { kind: 'none' };
    }
    case 'identity_deleted': {
      const e = need();
      const gone = isIdentity(e.previous) ? e.previous : isIdentity(e.current) ? e.current : null;
      if (!gone) throw bad('event.previous', 'must be the deleted identity {type, value}');
      // A deleted phone clears the phone (under the ownership policy); a deleted e-mail identity
      // says nothing (the user keeps its primary e-mail).
      if (gone.type === 'phone_number' && gone.primary !== false)
        return { kind: 'contact', contact: { phone: null }, vendor: { phone: null }, cleared: ['phone'] };
      return { kind: 'none' };
    }
    case 'custom_field_changed': {
      const e = need();
      if (typeof e.field !== 'object' || e.field === null) throw bad('event.field', 'is required');
      // A value cleared in Zendesk may come as null or without `current`: both read as no value.
      const key = userFieldOf(e.field);
      const current = e.current === null || e.current === undefined ? null : String(e.current);
      if (key === 'billing_status')
        return current && (BILLING_STATUSES as readonly string[]).includes(current)
          ? { kind: 'billing', status: current as BillingStatus }
          : { kind: 'none' };
      if (key === 'address_of_record')
        return {
          kind: 'contact',
          contact: { address: addressOfRecord(current) },
          vendor: { address_of_record: current },
        };
      // Household, tier, points, subscriptions: Hearth projects them; support never sets them.
      return { kind: 'none' };
    }
    case 'external_id_changed': {
      const { current } = need();
      if (current !== null && typeof current !== 'string') throw bad('event.current', 'must be a string or null');
      // The Zendesk user now names a Hearth customer: it links the user (nothing else changed).
      return current
        ? { kind: 'contact', contact: {}, vendor: { external_id: current }, hearthId: current }
        : { kind: 'none' };
    }
    default:
      return { kind: 'none' };
  }
}

/**
 * A Zendesk user event (`zen:event-type:user.<x>`: the user's ids and e-mail in `detail`, what
 * changed in `event`) becomes a change of the Zendesk user `detail.id`, carrying only the attribute
 * that changed: a name, a phone (a phone_number identity created, changed or deleted), the primary
 * e-mail, the address of record (user field) as a contact change under the ownership policy; the
 * billing status (user field) as a billing change. `detail.external_id` (the Hearth id Hearth
 * writes) and `detail.email` link a user the crosswalk does not know. The event id makes it
 * idempotent. Other event types, and user events Hearth does not read, are unsupported.
 */
export function parseZendeskEvent(raw: Buffer, source: string, now: number): InboundEvent[] {
  let body: ZendeskWebhook;
  try {
    body = JSON.parse(raw.toString('utf8')) as ZendeskWebhook;
  } catch {
    throw new HearthError('bad_request', 'zendesk: body is not JSON', { field: 'body' });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HearthError('bad_request', 'zendesk: body is not a JSON object', { field: 'body' });
  if (typeof body.id !== 'string' || !body.id) throw bad('id', 'is required');
  if (typeof body.type !== 'string') throw bad('type', 'is required');
  const unsupported: InboundEvent[] = [
    { delivery_id: body.id, event: { type: 'unsupported', source, vendor_type: body.type } },
  ];
  const prefix = 'zen:event-type:user.';
  if (!body.type.startsWith(prefix)) return unsupported;
  const d = body.detail;
  if (!d || typeof d !== 'object' || (typeof d.id !== 'string' && typeof d.id !== 'number') || d.id === '')
    throw bad('detail.id', 'is required');
  const change = changeOf(body.type.slice(prefix.length), body.event);
  if (change.kind === 'none') return unsupported;
  const at = body.time ? Date.parse(body.time) : Number.NaN;
  const occurred = Number.isNaN(at) ? now : at;
  const externalId = String(d.id);
  const email = typeof d.email === 'string' && d.email.trim() ? d.email.trim() : null;
  if (change.kind === 'billing')
    return [
      {
        delivery_id: body.id,
        event: {
          type: 'billing.status_changed',
          source,
          external_id: externalId,
          contact: email ? { email } : {},
          status: change.status,
          reason: 'zendesk agent',
          occurred_at: occurred,
        },
      },
    ];
  const ridesAlong = Boolean(email) && change.contact.email === undefined;
  const hearthId = change.hearthId ?? (typeof d.external_id === 'string' && d.external_id ? d.external_id : null);
  return [
    {
      delivery_id: body.id,
      event: {
        type: 'contact.updated',
        source,
        external_id: externalId,
        // The user's current e-mail rides along to link the user (the crosswalk knows it first).
        contact: { ...(ridesAlong ? { email } : {}), ...change.contact },
        vendor_fields: change.vendor,
        origin_is_hearth: false,
        occurred_at: occurred,
        ...(Number.isNaN(at) ? {} : { version: at }),
        ...(hearthId ? { hearth_id: hearthId } : {}),
        // It links; it is no change (a user's e-mail owned elsewhere is neither overwritten nor drift).
        ...(ridesAlong ? { unchanged: ['email' as const] } : {}),
        ...(change.cleared?.length ? { cleared: change.cleared } : {}),
      },
    },
  ];
}
