import jsforce from 'jsforce';
import type { Logger } from '../../log.ts';
import { createCredential, credentialFor, credentialSpec, type Credential } from '../common/credentials.ts';
import type { FetchLike } from '../common/http.ts';
import type { TokenStore } from '../common/credentials-store.ts';
import type { TokenUse } from '../common/renewing.ts';
import { saysUnauthorized } from '../common/renewing.ts';
import type { SalesforceConfig } from './config.ts';
import { DEFAULT_TIMEOUT_MS } from '../common/timeout.ts';
import { withTimeout } from './timeout.ts';

export interface SalesforceAuthDeps {
  logger?: Logger | undefined;
  now?: (() => number) | undefined;
  fetch?: FetchLike | undefined;
  tokens?: TokenStore | undefined;
}

/**
 * The connector's credential: a fixed session, a connected app's refresh-token grant, or the JWT
 * bearer flow (server-to-server, `aud` = the login URL). Salesforce sends no `expires_in`: a
 * session is renewed when it is refused (jsforce calls `refreshFn` on a 401 and repeats the call).
 */
export function salesforceCredential(cfg: SalesforceConfig, deps: SalesforceAuthDeps = {}): Credential {
  const login = (cfg.login_url ?? 'https://login.salesforce.com').replace(/\/$/, '');
  return credentialFor(cfg, () =>
    createCredential(credentialSpec(cfg, { token_url: `${login}/services/oauth2/token`, audience: login }), {
      connector: 'salesforce',
      fetch: deps.fetch,
      now: deps.now,
      logger: deps.logger,
      store: deps.tokens,
    }),
  );
}

/** A jsforce connection that takes its session from the credential. */
export function salesforceConnection(
  cfg: SalesforceConfig,
  deps: SalesforceAuthDeps = {},
): { conn: jsforce.Connection; cred: Credential; use: TokenUse } {
  const cred = salesforceCredential(cfg, deps);
  const renewable = cred.status().renewable;
  const conn = new jsforce.Connection({
    instanceUrl: cfg.instance_url,
    ...(cfg.access_token ? { accessToken: cfg.access_token } : {}),
    version: cfg.api_version,
    callOptions: { client: cfg.client_id },
    ...(renewable
      ? {
          refreshFn: (c: jsforce.Connection, done: (err: Error | null, token?: string) => void) =>
            void cred.renew(c.accessToken ?? '').then(
              (t) => done(null, t),
              (err: Error) => done(err),
            ),
        }
      : {}),
  });
  withTimeout(conn, cfg.timeout_ms ?? DEFAULT_TIMEOUT_MS);
  const use: TokenUse = {
    apply: (t) => {
      conn.accessToken = t;
    },
    unauthorized: saysUnauthorized,
  };
  return { conn, cred, use };
}
