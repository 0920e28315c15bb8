import { z } from 'zod';
import { optional, required } from '../../canonical/export-columns.ts';
import { defineConnector } from '../connector.ts';
import { zendeskEraser } from './erase.ts';
import { zendeskDoctor } from './doctor.ts';
import { createZendeskConnector } from './index.ts';

const config = z
  .object({
    subdomain: z.string().min(1).optional(),
    email: z.string().min(3),
    api_token: z.string().min(1),
    base_url: z.url().optional(),
    webhook_secret: z.string().min(8),
    tolerance_seconds: z.number().int().positive().default(300),
    job_poll_ms: z.number().int().positive().default(250),
    job_timeout_ms: z.number().int().positive().default(30_000),
  })
  .refine((c) => c.subdomain || c.base_url, { message: 'subdomain or base_url is required', path: ['subdomain'] });

/**
 * Zendesk: support. Agents see the customer view (household, tier, points, billing status,
 * subscriptions, address of record) as user fields; an agent's phone or name correction flows
 * back under the ownership policy (an agent's phone outranks the CRM's; names stay the CRM's).
 */
export const zendeskConnector = defineConnector({
  name: 'zendesk',
  config,
  ownership: { phone: 9, given_name: 41, family_name: 41 },
  capabilities: { ingress: true, pull: true },
  targets: () => ['zendesk'],
  signature_headers: ['x-zendesk-webhook-signature'],
  // Column labels of a Zendesk users export (CSV).
  exports: {
    contacts: [required('email', 'email'), optional('id', 'id'), optional('phone', 'phone')],
  },
  doctor: zendeskDoctor,
  erase: zendeskEraser,
  create: (cfg, deps) => createZendeskConnector(cfg, deps),
});
