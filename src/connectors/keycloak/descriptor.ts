import { z } from 'zod';
import { defineConnector } from '../connector.ts';
import { keycloakEraser } from './erase.ts';
import { createKeycloakConnector } from './index.ts';

/** Keycloak Admin REST API: household claims as user attributes (read, merge, PUT, read back). */
export const keycloakConnector = defineConnector({
  name: 'keycloak',
  config: z.object({
    /** Milliseconds a vendor call may wait for an answer before it fails as transient (default 10 000). */
    timeout_ms: z.number().int().min(1).optional(),
    base_url: z.url(),
    realm: z.string().min(1),
    token_realm: z.string().min(1).optional(),
    client_id: z.string().min(1),
    client_secret: z.string().min(1),
    verify_writes: z.boolean().default(true),
    require_verified_email: z.boolean().default(true),
    missing_user: z.enum(['skip', 'fail']).default('skip'),
  }),
  capabilities: { idp: true },
  erase: keycloakEraser,
  create: (cfg, deps) => createKeycloakConnector(cfg, { now: deps.now, timeout_ms: cfg.timeout_ms }),
});
