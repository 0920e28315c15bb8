import { z } from 'zod';
import { defineConnector } from '../connector.ts';
import { scimEraser } from './erase.ts';
import { createScimConnector, HEARTH_SCIM_SCHEMA } from './index.ts';

/** Any SCIM 2.0 service provider: household claims as an extension schema (docs/identity-provider.md). */
export const scimConnector = defineConnector({
  name: 'scim',
  config: z.object({
    /** Milliseconds a vendor call may wait for an answer before it fails as transient (default 10 000). */
    timeout_ms: z.number().int().min(1).optional(),
    base_url: z.url(),
    access_token: z.string().min(1),
    schema_urn: z.string().regex(/^urn:/, 'a URN').default(HEARTH_SCIM_SCHEMA),
    missing_user: z.enum(['skip', 'fail']).default('skip'),
  }),
  capabilities: { idp: true },
  erase: scimEraser,
  create: (cfg, deps) => createScimConnector(cfg, { now: deps.now, timeout_ms: cfg.timeout_ms }),
});
