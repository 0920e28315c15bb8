import { z } from 'zod';
import { vendorId, vendorMoney, vendorText } from '../common/ingress.ts';

/**
 * What the Shopify parser reads, per topic, checked before anything is stored: wrong types
 * (`"email": ["a"]`, `"transactions": "x"`, `[null]`) are a 400 naming the field. Other
 * properties pass untouched (Shopify sends many we ignore). Money becomes exact minor units.
 */
const address = z.looseObject({
  address1: vendorText,
  address2: vendorText,
  city: vendorText,
  province_code: vendorText,
  province: vendorText,
  zip: vendorText,
  country_code: vendorText,
  country: vendorText,
  first_name: vendorText,
  last_name: vendorText,
  phone: vendorText,
});

const customer = z.looseObject({
  id: vendorId.nullish(),
  email: vendorText,
  first_name: vendorText,
  last_name: vendorText,
  phone: vendorText,
  default_address: address.nullish(),
  updated_at: vendorText,
});

const order = z.looseObject({
  id: vendorId.nullish(),
  name: vendorText,
  email: vendorText,
  phone: vendorText,
  created_at: vendorText,
  cancelled_at: vendorText,
  customer: customer.nullish(),
  currency: vendorText,
  total_price: vendorMoney,
  line_items: z.array(z.unknown()).max(10_000).nullish(),
  shipping_address: address.nullish(),
});

const refund = z.looseObject({
  id: vendorId.nullish(),
  order_id: vendorId.nullish(),
  created_at: vendorText,
  transactions: z
    .array(z.looseObject({ kind: vendorText, status: vendorText, amount: vendorMoney }))
    .max(1000)
    .nullish(),
  refund_line_items: z
    .array(z.looseObject({ subtotal: vendorMoney, total_tax: vendorMoney }))
    .max(10_000)
    .nullish(),
});

const SCHEMAS: Record<string, z.ZodType> = {
  'orders/create': order,
  'orders/cancelled': order,
  'customers/create': customer,
  'customers/update': customer,
  'refunds/create': refund,
};

/** The schema of a topic's body; topics Hearth does not read need only be an object. */
export function shopifyBodySchema(topic: string): z.ZodType {
  return SCHEMAS[topic] ?? z.looseObject({});
}
