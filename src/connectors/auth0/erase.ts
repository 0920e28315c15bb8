import type { ConnectorDeps } from '../connector.ts';
import type { Eraser } from '../erasure.ts';
import { createHttpClient } from '../common/idp/http.ts';
import { idpEraser } from '../common/idp/erase.ts';
import { auth0UserApi, type Auth0Config } from './index.ts';

/** Auth0 Management API `DELETE /api/v2/users/:id` (needs the `delete:users` scope). */
export function auth0Eraser(cfg: Auth0Config & { timeout_ms?: number | undefined }, deps: ConnectorDeps): Eraser {
  return idpEraser(auth0UserApi(cfg, createHttpClient('auth0', { now: deps.now, timeout_ms: cfg.timeout_ms })));
}
