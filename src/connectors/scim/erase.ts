import type { ConnectorDeps } from '../connector.ts';
import type { Eraser } from '../erasure.ts';
import { createHttpClient } from '../common/idp/http.ts';
import { idpEraser } from '../common/idp/erase.ts';
import { scimUserApi, type ScimConfig } from './index.ts';

/** SCIM 2.0 `DELETE /Users/:id` (RFC 7644 §3.6), users found as the claims push finds them. */
export function scimEraser(cfg: ScimConfig & { timeout_ms?: number | undefined }, deps: ConnectorDeps): Eraser {
  return idpEraser(scimUserApi(cfg, createHttpClient('scim', { now: deps.now, timeout_ms: cfg.timeout_ms })));
}
