import type { ConnectorDeps } from '../connector.ts';
import type { Eraser } from '../erasure.ts';
import { createHttpClient } from '../common/idp/http.ts';
import { idpEraser } from '../common/idp/erase.ts';
import { keycloakUserApi, type KeycloakConfig } from './index.ts';

/** Keycloak Admin REST `DELETE /admin/realms/:realm/users/:id` (needs the `manage-users` role). */
export function keycloakEraser(cfg: KeycloakConfig & { timeout_ms?: number | undefined }, deps: ConnectorDeps): Eraser {
  return idpEraser(keycloakUserApi(cfg, createHttpClient('keycloak', { now: deps.now, timeout_ms: cfg.timeout_ms })));
}
