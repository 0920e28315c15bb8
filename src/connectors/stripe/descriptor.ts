import { z } from 'zod';
import { optional, required } from '../../canonical/export-columns.ts';
import { defineConnector } from '../connector.ts';
import { stripeEraser } from './erase.ts';
import { createStripeConnector } from './index.ts';

const config = z.object({
  api_key: z.string().min(1),
  webhook_secret: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  base_url: z.url().default('https://api.stripe.com'),
  tolerance_seconds: z.number().int().positive().default(300),
});

/**
 * Stripe: billing. Webhooks in (customers, invoices, subscriptions): billing status, billing
 * address and subscriptions are Stripe's alone; names and phone are projected back to it
 * (with `metadata.hearth_id` and `household_id`), where CRM and checkout outrank it.
 */
export const stripeConnector = defineConnector({
  name: 'stripe',
  config,
  // Billing fields are Stripe's: config may name other owners (`billing_status: [stripe, chargebee]`).
  ownership: {
    phone: 15,
    given_name: 40,
    family_name: 40,
    email: 40,
    billing_address: 10,
    billing_status: 10,
    subscriptions: 10,
  },
  capabilities: { ingress: true, pull: true },
  targets: () => ['stripe'],
  signature_headers: ['stripe-signature'],
  // Column labels of Stripe's customers CSV export (the shipping address is the address of record).
  exports: {
    contacts: [
      required('email', 'Email'),
      optional('id', 'id'),
      optional('phone', 'Phone'),
      optional('street', 'Shipping Address Line1'),
      optional('street2', 'Shipping Address Line2'),
      optional('city', 'Shipping Address City'),
      optional('region', 'Shipping Address State'),
      optional('postal_code', 'Shipping Address Postal Code'),
      optional('country', 'Shipping Address Country'),
    ],
  },
  erase: stripeEraser,
  create: (cfg, deps) => createStripeConnector(cfg, deps.now),
});
