import { z } from 'zod';
import { defineConnector } from '../connector.ts';
import { auth0Eraser } from './erase.ts';
import { createAuth0Connector } from './index.ts';

/** Auth0 Management API: household claims in the user's app_metadata. */
export const auth0Connector = defineConnector({
  name: 'auth0',
  config: z.object({
    /** Milliseconds a vendor call may wait for an answer before it fails as transient (default 10 000). */
    timeout_ms: z.number().int().min(1).optional(),
    domain: z.string().min(1),
    client_id: z.string().min(1),
    client_secret: z.string().min(1),
    audience: z.string().optional(),
    metadata_key: z.string().min(1).default('household'),
    require_verified_email: z.boolean().default(true),
    missing_user: z.enum(['skip', 'fail']).default('skip'),
  }),
  capabilities: { idp: true },
  erase: auth0Eraser,
  create: (cfg, deps) => createAuth0Connector(cfg, { now: deps.now, timeout_ms: cfg.timeout_ms }),
});
