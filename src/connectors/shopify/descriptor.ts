import { z } from 'zod';
import { optional, required } from '../../canonical/export-columns.ts';
import { defineConnector } from '../connector.ts';
import { shopifyDoctor } from './doctor.ts';
import { createShopifyConnector } from './index.ts';

/**
 * Shopify: the storefront. Webhooks in (orders, customers, refunds); its orders export or the Admin
 * API (bulk operations) for backfills; optionally the default address written back (profile.project).
 */
export const shopifyConnector = defineConnector({
  name: 'shopify',
  config: z.object({
    webhook_secret: z.string().min(1),
    admin: z
      .object({
        shop: z
          .string()
          .regex(/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/, 'the shop domain, e.g. my-store.myshopify.com')
          .describe('The shop domain (my-store.myshopify.com).'),
        access_token: z
          .string()
          .min(1)
          .describe('Admin API access token (custom app; scopes read_orders, read_customers).'),
        api_version: z
          .string()
          .regex(/^\d{4}-\d{2}$/)
          .default('2026-10')
          .describe('Admin API version.'),
        admin_url: z
          .url()
          .optional()
          .describe('Another origin for the Admin API (a simulator); default https://<shop>.'),
        webhook_url: z
          .url()
          .optional()
          .describe('Where Shopify sends webhooks (https://<host>/webhooks/shopify): doctor checks, --fix subscribes.'),
        address_writeback: z
          .boolean()
          .default(false)
          .describe(
            "Keep the Shopify customer's default address in step with the canonical one (scope write_customers).",
          ),
      })
      .optional()
      .describe('The Admin GraphQL API: orders read with bulk operations (`hearth loyalty backfill --from-shopify`).'),
  }),
  // Checkout-validated addresses and phones outrank the CRM's; the CRM owns names and email.
  ownership: { address: 10, phone: 5, given_name: 30, family_name: 30, email: 30 },
  capabilities: { ingress: true },
  signature_headers: ['x-shopify-hmac-sha256'],
  exports: {
    orders: [
      required('name', 'Name'),
      required('email', 'Email'),
      required('created_at', 'Created at'),
      required('city', 'Shipping City'),
      required('zip', 'Shipping Zip'),
      optional('address1', 'Shipping Address1'),
      optional('street', 'Shipping Street'),
      optional('address2', 'Shipping Address2'),
      optional('province', 'Shipping Province', 'Shipping Province Name'),
      optional('country', 'Shipping Country'),
      optional('shipping_phone', 'Shipping Phone'),
      optional('phone', 'Phone'),
      optional('billing_phone', 'Billing Phone'),
      optional('id', 'Id'),
    ],
  },
  targets: (cfg) => (cfg.admin?.address_writeback ? ['shopify'] : []),
  doctor: (cfg, ctx) => shopifyDoctor(cfg, ctx),
  create: (cfg) => createShopifyConnector(cfg),
});
