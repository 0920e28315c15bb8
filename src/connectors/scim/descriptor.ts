import { z } from 'zod';
import { defineConnector } from '../connector.ts';
import { createScimConnector, HEARTH_SCIM_SCHEMA } from './index.ts';

/** Any SCIM 2.0 service provider: household claims as an extension schema (docs/identity-provider.md). */
export const scimConnector = defineConnector({
  name: 'scim',
  config: z.object({
    base_url: z.url(),
    access_token: z.string().min(1),
    schema_urn: z.string().regex(/^urn:/, 'a URN').default(HEARTH_SCIM_SCHEMA),
    missing_user: z.enum(['skip', 'fail']).default('skip'),
  }),
  capabilities: { idp: true },
  create: (cfg, deps) => createScimConnector(cfg, { now: deps.now }),
});
