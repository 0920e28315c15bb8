import { HearthError } from '../../errors.ts';
import { createAdminClient, type ShopifyAdminConfig } from './admin.ts';
import { addressExpectedWrite, deliverAddresses, shopifyVendorFields } from './writeback.ts';
import type { PostalAddress } from '../../address/types.ts';
import { hmacSha256, safeEqual } from '../hmac.ts';
import { shopifyBodySchema } from './schema.ts';
import { checkShape, parseJsonBody } from '../common/ingress.ts';
import {
  PROFILE_PROJECT,
  type CanonicalEvent,
  type Connector,
  type InboundEvent,
  type VerifyResult,
  type WebhookRequest,
} from '../../canonical/types.ts';

export interface ShopifyConfig {
  webhook_secret: string;
  admin?:
    | (ShopifyAdminConfig & { address_writeback?: boolean | undefined; webhook_url?: string | undefined })
    | undefined;
}

/** The slice of Shopify's REST address we read (orders' shipping_address, customers' default_address). */
interface ShopifyAddress {
  address1?: string | null;
  address2?: string | null;
  city?: string | null;
  province_code?: string | null;
  province?: string | null;
  zip?: string | null;
  country_code?: string | null;
  country?: string | null;
}

interface ShopifyCustomer {
  id?: number | string;
  email?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  phone?: string | null;
  default_address?: ShopifyAddress | null;
  updated_at?: string;
}

interface ShopifyOrder {
  id?: number | string;
  name?: string;
  email?: string | null;
  phone?: string | null;
  created_at?: string;
  customer?: ShopifyCustomer | null;
  currency?: string | null;
  total_price?: string | number | null;
  line_items?: unknown[] | null;
  shipping_address?:
    | (ShopifyAddress & { first_name?: string | null; last_name?: string | null; phone?: string | null })
    | null;
}

/**
 * Shopify storefront: `orders/create` carries the shipping address checkout validated (the
 * write-back trigger); `customers/update` carries profile edits. Deliveries are verified with
 * the HMAC of the raw body and de-duplicated by `X-Shopify-Event-Id`. There is no replay
 * window: Shopify retries a delivery for 4 hours with the original body, and the event id
 * already makes replays harmless.
 */
export function createShopifyConnector(cfg: ShopifyConfig, deps: { fetch?: typeof fetch } = {}): Connector {
  const admin = cfg.admin?.address_writeback ? createAdminClient(cfg.admin, deps) : null;
  return {
    id: 'shopify',
    ingress: {
      verify: (req) => verifyShopify(req, cfg.webhook_secret),
      parse: parseShopify,
    },
    // With admin.address_writeback, Shopify reads the customer view: its default address follows
    // the canonical one (writeback.ts); the customers/update echo carries the values written.
    ...(admin
      ? {
          outbound: {
            kinds: [PROFILE_PROJECT],
            deliver: (jobs) => deliverAddresses(admin, jobs),
            expectedWrites: addressExpectedWrite,
          },
          maxBatch: 25,
        }
      : {}),
  };
}

export function verifyShopify(req: WebhookRequest, secret: string): VerifyResult {
  const given = req.headers['x-shopify-hmac-sha256'];
  if (!given) return { ok: false, error: 'missing X-Shopify-Hmac-Sha256 header' };
  const expected = hmacSha256(secret, req.rawBody, 'base64');
  return safeEqual(given, expected)
    ? { ok: true }
    : { ok: false, error: 'X-Shopify-Hmac-Sha256 does not match the body' };
}

export function parseShopify(req: WebhookRequest): InboundEvent[] {
  const topic = req.headers['x-shopify-topic'];
  const deliveryId = req.headers['x-shopify-event-id'] ?? req.headers['x-shopify-webhook-id'];
  if (!topic) throw new HearthError('bad_request', 'missing X-Shopify-Topic header', { field: 'X-Shopify-Topic' });
  if (!deliveryId)
    throw new HearthError('bad_request', 'missing X-Shopify-Event-Id header', { field: 'X-Shopify-Event-Id' });
  const body = checkShape(shopifyBodySchema(topic), parseJsonObject(req.rawBody), 'shopify') as Record<string, unknown>;
  const triggered = parseTime(req.headers['x-shopify-triggered-at']);
  const events: InboundEvent[] = [{ delivery_id: deliveryId, event: toCanonical(topic, body, triggered ?? req.now) }];
  // The order itself is a second event of the same delivery (the points ledger, checkout enrichment).
  if (topic === 'orders/create')
    events.push({ delivery_id: `${deliveryId}:order`, event: orderPlaced(body as ShopifyOrder, triggered ?? req.now) });
  return events;
}

function toCanonical(topic: string, body: Record<string, unknown>, occurredAt: number): CanonicalEvent {
  switch (topic) {
    case 'orders/create':
      return orderEvent(body as ShopifyOrder, occurredAt);
    case 'customers/update':
    case 'customers/create':
      return customerEvent(body as ShopifyCustomer, occurredAt);
    case 'orders/cancelled':
      return orderCancelled(body as ShopifyOrder, occurredAt);
    case 'refunds/create':
      return refundCreated(body as ShopifyRefund, occurredAt);
    default:
      return { type: 'unsupported', source: 'shopify', vendor_type: topic };
  }
}

function orderEvent(order: ShopifyOrder, occurredAt: number): CanonicalEvent {
  requireField(order.id, 'id');
  const ship = order.shipping_address;
  // Digital goods and pickup orders have no shipping address: nothing was confirmed.
  if (!ship) return { type: 'unsupported', source: 'shopify', vendor_type: 'orders/create (no shipping_address)' };
  requireField(ship.address1, 'shipping_address.address1');
  const customer = order.customer ?? null;
  return {
    type: 'checkout.address_confirmed',
    source: 'shopify',
    external_id: customer?.id !== undefined ? String(customer.id) : null,
    contact: {
      given_name: customer?.first_name ?? ship.first_name ?? null,
      family_name: customer?.last_name ?? ship.last_name ?? null,
      email: order.email ?? customer?.email ?? null,
      phone: customer?.phone ?? order.phone ?? ship.phone ?? null,
    },
    address: toAddress(ship),
    order_id: order.name ?? String(order.id),
    occurred_at: parseTime(order.created_at) ?? occurredAt,
  };
}

function orderPlaced(order: ShopifyOrder, occurredAt: number): CanonicalEvent {
  requireField(order.id, 'id');
  const total = moneyMinor(order.total_price);
  // Without a total there is nothing to earn on; the address half of the delivery still counts.
  if (total === null) return { type: 'unsupported', source: 'shopify', vendor_type: 'orders/create (no total_price)' };
  return {
    type: 'order.placed',
    source: 'shopify',
    external_id: order.customer?.id !== undefined && order.customer?.id !== null ? String(order.customer.id) : null,
    contact: orderContact(order),
    order_id: String(order.id),
    order_name: order.name ?? null,
    total_minor: total,
    currency: order.currency ?? null,
    line_count: Array.isArray(order.line_items) ? order.line_items.length : 0,
    occurred_at: parseTime(order.created_at) ?? occurredAt,
  };
}

function orderCancelled(order: ShopifyOrder & { cancelled_at?: string | null }, occurredAt: number): CanonicalEvent {
  requireField(order.id, 'id');
  return {
    type: 'order.reversed',
    source: 'shopify',
    external_id: order.customer?.id != null ? String(order.customer.id) : null,
    contact: orderContact(order),
    order_id: String(order.id),
    reason: 'cancelled',
    refund_id: null,
    amount_minor: null,
    occurred_at: parseTime(order.cancelled_at) ?? occurredAt,
  };
}

/** The slice of a Shopify refund we read: the money actually returned. */
interface ShopifyRefund {
  id?: number | string;
  order_id?: number | string;
  created_at?: string;
  transactions?: { kind?: string; status?: string; amount?: string | number }[] | null;
  refund_line_items?: { subtotal?: string | number; total_tax?: string | number }[] | null;
}

function refundCreated(refund: ShopifyRefund, occurredAt: number): CanonicalEvent {
  requireField(refund.id, 'id');
  requireField(refund.order_id, 'order_id');
  const paid = (refund.transactions ?? []).filter(
    (t) => (t.kind ?? 'refund') === 'refund' && (t.status ?? 'success') === 'success',
  );
  const items = refund.refund_line_items ?? [];
  const amount =
    paid.length > 0
      ? paid.reduce((sum, t) => sum + (moneyMinor(t.amount) ?? 0), 0)
      : items.reduce((sum, i) => sum + (moneyMinor(i.subtotal) ?? 0) + (moneyMinor(i.total_tax) ?? 0), 0);
  return {
    type: 'order.reversed',
    source: 'shopify',
    external_id: null,
    contact: {},
    order_id: String(refund.order_id),
    reason: 'refunded',
    refund_id: String(refund.id),
    amount_minor: amount,
    occurred_at: parseTime(refund.created_at) ?? occurredAt,
  };
}

function orderContact(order: ShopifyOrder): {
  given_name: string | null;
  family_name: string | null;
  email: string | null;
} {
  return {
    given_name: order.customer?.first_name ?? null,
    family_name: order.customer?.last_name ?? null,
    email: order.email ?? order.customer?.email ?? null,
  };
}

/** Shopify money in minor units: the schema (`schema.ts`) already turned "59.00" into 5900, exactly. */
function moneyMinor(v: string | number | null | undefined): number | null {
  return typeof v === 'number' ? v : null;
}

function customerEvent(c: ShopifyCustomer, occurredAt: number): CanonicalEvent {
  requireField(c.id, 'id');
  const address = c.default_address?.address1 ? toAddress(c.default_address) : null;
  return {
    type: 'contact.updated',
    source: 'shopify',
    external_id: String(c.id),
    contact: {
      given_name: c.first_name ?? null,
      family_name: c.last_name ?? null,
      email: c.email ?? null,
      phone: c.phone ?? null,
      address,
    },
    vendor_fields: shopifyVendorFields(
      {
        first_name: c.first_name ?? null,
        last_name: c.last_name ?? null,
        email: c.email ?? null,
        phone: c.phone ?? null,
      },
      address,
    ),
    origin_is_hearth: false,
    occurred_at: parseTime(c.updated_at) ?? occurredAt,
  };
}

export function toAddress(a: ShopifyAddress): PostalAddress {
  return {
    line1: a.address1 ?? '',
    line2: a.address2 ?? null,
    city: a.city ?? null,
    region: a.province_code ?? a.province ?? null,
    postal_code: a.zip ?? null,
    country: a.country_code ?? a.country ?? null,
  };
}

function requireField(value: unknown, field: string): void {
  if (value === undefined || value === null || value === '') {
    throw new HearthError('bad_request', `shopify payload: ${field} is required`, { field });
  }
}

export function parseJsonObject(raw: Buffer): Record<string, unknown> {
  const body = parseJsonBody(raw);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HearthError('bad_request', 'body must be a JSON object', { field: 'body' });
  }
  return body as Record<string, unknown>;
}

function parseTime(value: string | undefined | null): number | null {
  if (!value) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : t;
}
