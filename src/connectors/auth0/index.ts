import type { Connector, OutboundJob } from '../../canonical/types.ts';
import { IDP_PUSH_KIND, type IdentityClaims, type MissingUserPolicy } from '../../canonical/identity-claims.ts';
import {
  createHttpClient,
  createTokenCache,
  tokenOf,
  withToken,
  type HttpClient,
  type HttpDeps,
  type Outcome,
} from '../common/idp/http.ts';
import { deliverPushes, type IdpUserApi } from '../common/idp/push.ts';

export interface Auth0Config {
  /** Tenant domain (`example.us.auth0.com`) or base URL. */
  domain: string;
  /** A machine-to-machine application authorised for the Management API (`read:users`, `update:users_app_metadata`). */
  client_id: string;
  client_secret: string;
  /** Management API audience; default `<base>/api/v2/`. */
  audience?: string | undefined;
  /** The `app_metadata` key holding the household object. */
  metadata_key: string;
  /** Push only to users whose e-mail Auth0 has verified (a stranger could sign up with someone's address). */
  require_verified_email: boolean;
  missing_user: MissingUserPolicy;
}

export function auth0BaseUrl(domain: string): string {
  return (/^https?:\/\//.test(domain) ? domain : `https://${domain}`).replace(/\/$/, '');
}

/**
 * The `app_metadata` patch. Auth0 merges top-level metadata keys and replaces nested objects
 * whole, so the household object is always written complete and other keys are left alone.
 */
export function auth0Patch(key: string, c: IdentityClaims): { app_metadata: Record<string, unknown> } {
  return {
    app_metadata: {
      [key]: {
        household_id: c.household_id,
        hierarchy_role: c.hierarchy_role,
        points_aggregation_opt_in: c.points_aggregation_opt_in,
        tier: c.tier,
      },
    },
  };
}

/**
 * Pushes household context into Auth0 `app_metadata` through the Management API, with a cached
 * client-credentials token; users are found with `GET /api/v2/users-by-email`.
 */
export function createAuth0Connector(cfg: Auth0Config, deps: HttpDeps = {}): Connector {
  const http = createHttpClient('auth0', deps);
  const api = auth0UserApi(cfg, http);
  return {
    id: 'auth0',
    maxBatch: 10,
    outbound: {
      kinds: [IDP_PUSH_KIND],
      deliver: (jobs: OutboundJob[]) => deliverPushes('auth0', api, cfg.missing_user, jobs),
    },
  };
}

export function auth0UserApi(cfg: Auth0Config, http: HttpClient): IdpUserApi {
  const base = auth0BaseUrl(cfg.domain);
  const audience = cfg.audience ?? `${base}/api/v2/`;
  const tokens = createTokenCache(async () => {
    const body = JSON.stringify({
      grant_type: 'client_credentials',
      client_id: cfg.client_id,
      client_secret: cfg.client_secret,
      audience,
    });
    const r = await http.request('POST', `${base}/oauth/token`, {
      headers: { 'content-type': 'application/json' },
      body,
    });
    return r.ok ? tokenOf('auth0', r.value) : r;
  }, http.now);
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  return {
    findByEmail: (email) =>
      withToken(tokens, async (token): Promise<Outcome<string[]>> => {
        const r = await http.request(
          'GET',
          `${base}/api/v2/users-by-email?` +
            `${new URLSearchParams({ email, fields: 'user_id,email_verified', include_fields: 'true' })}`,
          { headers: auth(token) },
        );
        if (!r.ok) return r;
        const users = Array.isArray(r.value) ? (r.value as { user_id?: unknown; email_verified?: unknown }[]) : [];
        const trusted = users.filter((u) => !cfg.require_verified_email || u.email_verified === true);
        return { ok: true, value: trusted.map((u) => u.user_id).filter((id): id is string => typeof id === 'string') };
      }),
    writeClaims: (id, claims) =>
      withToken(tokens, async (token): Promise<Outcome<null>> => {
        const r = await http.request('PATCH', `${base}/api/v2/users/${encodeURIComponent(id)}`, {
          headers: { ...auth(token), 'content-type': 'application/json' },
          body: JSON.stringify(auth0Patch(cfg.metadata_key, claims)),
        });
        return r.ok ? { ok: true, value: null } : r;
      }),
    deleteUser: (id) =>
      withToken(tokens, async (token): Promise<Outcome<null>> => {
        const r = await http.request('DELETE', `${base}/api/v2/users/${encodeURIComponent(id)}`, {
          headers: auth(token),
        });
        return r.ok ? { ok: true, value: null } : r;
      }),
  };
}
