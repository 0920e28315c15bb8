import { createHmac, randomUUID } from 'node:crypto';

/** A Shopify webhook sender for tests and the demo: real headers, real HMAC over the raw body. */
export interface ShopifyOrderInput {
  order_id: number;
  customer_id: number;
  email: string;
  first_name: string;
  last_name: string;
  phone?: string | null;
  address1: string;
  address2?: string | null;
  city: string;
  province_code: string;
  zip: string;
  country_code?: string;
  created_at?: string;
  /** Order total ("59.00" by default). */
  total_price?: string;
}

export function buildOrder(o: ShopifyOrderInput): Record<string, unknown> {
  const address = {
    first_name: o.first_name,
    last_name: o.last_name,
    name: `${o.first_name} ${o.last_name}`,
    company: null,
    address1: o.address1,
    address2: o.address2 ?? null,
    city: o.city,
    province: null,
    province_code: o.province_code,
    zip: o.zip,
    country: 'United States',
    country_code: o.country_code ?? 'US',
    phone: o.phone ?? null,
  };
  return {
    id: o.order_id,
    admin_graphql_api_id: `gid://shopify/Order/${o.order_id}`,
    name: `#${o.order_id % 100000}`,
    email: o.email,
    phone: null,
    created_at: o.created_at ?? new Date().toISOString(),
    currency: 'USD',
    total_price: o.total_price ?? '59.00',
    subtotal_price: '49.00',
    financial_status: 'paid',
    fulfillment_status: null,
    customer: {
      id: o.customer_id,
      email: o.email,
      first_name: o.first_name,
      last_name: o.last_name,
      phone: o.phone ?? null,
      state: 'enabled',
    },
    shipping_address: address,
    billing_address: address,
    line_items: [
      { id: o.order_id * 10, title: 'Serum', sku: 'SER-30', quantity: 1, price: '49.00', requires_shipping: true },
    ],
  };
}

/** A `refunds/create` body: one successful refund transaction of `amount`. */
export function buildRefund(
  refundId: number,
  orderId: number,
  amount: string,
  createdAt: string = new Date().toISOString(),
): Record<string, unknown> {
  return {
    id: refundId,
    order_id: orderId,
    created_at: createdAt,
    note: null,
    restock: true,
    refund_line_items: [],
    transactions: [
      {
        id: refundId * 10,
        order_id: orderId,
        kind: 'refund',
        status: 'success',
        amount,
        currency: 'USD',
        gateway: 'shopify_payments',
      },
    ],
  };
}

export interface SignedDelivery {
  body: string;
  headers: Record<string, string>;
}

export function signShopifyDelivery(
  topic: string,
  payload: unknown,
  secret: string,
  eventId: string = randomUUID(),
): SignedDelivery {
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-shopify-topic': topic,
      'x-shopify-hmac-sha256': createHmac('sha256', secret).update(body).digest('base64'),
      'x-shopify-shop-domain': 'hearth-demo.myshopify.com',
      'x-shopify-api-version': '2025-07',
      'x-shopify-webhook-id': randomUUID(),
      'x-shopify-event-id': eventId,
      'x-shopify-triggered-at': new Date().toISOString(),
    },
  };
}

/** POSTs a signed delivery; returns the HTTP status (Shopify counts any 2xx as delivered). */
export async function sendShopifyWebhook(
  url: string,
  topic: string,
  payload: unknown,
  secret: string,
  eventId?: string,
): Promise<{ status: number; body: string }> {
  const d = signShopifyDelivery(topic, payload, secret, eventId);
  const res = await fetch(url, { method: 'POST', headers: d.headers, body: d.body });
  return { status: res.status, body: await res.text() };
}
