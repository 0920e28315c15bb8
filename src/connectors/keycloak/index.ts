import type { Connector, OutboundJob } from '../../canonical/types.ts';
import {
  flatClaims,
  IDP_PUSH_KIND,
  type IdentityClaims,
  type MissingUserPolicy,
} from '../../canonical/identity-claims.ts';
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

export interface KeycloakConfig {
  /** Server URL, e.g. https://sso.example.com (no `/realms/...`). */
  base_url: string;
  /** The realm whose users receive the attributes. */
  realm: string;
  /** Realm of the service-account client (default: `realm`); it needs `manage-users` of realm-management. */
  token_realm?: string | undefined;
  client_id: string;
  client_secret: string;
  /** Read the user back after writing and fail if the attributes were dropped (undeclared in the user profile). */
  verify_writes: boolean;
  /** Push only to users whose e-mail is verified (a stranger could register with someone's address). */
  require_verified_email: boolean;
  missing_user: MissingUserPolicy;
}

type Attributes = Record<string, string[]>;
interface UserRepresentation {
  id?: string;
  username?: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  enabled?: boolean;
  emailVerified?: boolean;
  attributes?: Attributes;
}

/** The user's attributes with the household claims merged in (a null claim removes its attribute). */
export function mergeAttributes(current: Attributes | undefined, c: IdentityClaims): Attributes {
  const next: Attributes = { ...current };
  for (const [name, value] of Object.entries(flatClaims(c))) {
    if (value === null) delete next[name];
    else next[name] = [value];
  }
  return next;
}

/**
 * Pushes household context into Keycloak user attributes through the admin REST API. A PUT with
 * `attributes` replaces the whole map, and since Keycloak 24 a PUT without the profile fields can
 * clear them, so the user is read first and written back whole with the claims merged in.
 */
export function createKeycloakConnector(cfg: KeycloakConfig, deps: HttpDeps = {}): Connector {
  const api = keycloakUserApi(cfg, createHttpClient('keycloak', deps));
  return {
    id: 'keycloak',
    maxBatch: 20,
    outbound: {
      kinds: [IDP_PUSH_KIND],
      deliver: (jobs: OutboundJob[]) => deliverPushes('keycloak', api, cfg.missing_user, jobs),
    },
  };
}

export function keycloakUserApi(cfg: KeycloakConfig, http: HttpClient): IdpUserApi {
  const base = cfg.base_url.replace(/\/$/, '');
  const users = `${base}/admin/realms/${encodeURIComponent(cfg.realm)}/users`;
  const tokenUrl = `${base}/realms/${encodeURIComponent(cfg.token_realm ?? cfg.realm)}/protocol/openid-connect/token`;
  const tokens = createTokenCache(async () => {
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: cfg.client_id,
      client_secret: cfg.client_secret,
    }).toString();
    const r = await http.request('POST', tokenUrl, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    return r.ok ? tokenOf('keycloak', r.value) : r;
  }, http.now);
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const getUser = async (token: string, id: string): Promise<Outcome<UserRepresentation>> => {
    const r = await http.request('GET', `${users}/${encodeURIComponent(id)}`, { headers: auth(token) });
    return r.ok ? { ok: true, value: (r.value ?? {}) as UserRepresentation } : r;
  };
  return {
    findByEmail: (email) =>
      withToken(tokens, async (token): Promise<Outcome<string[]>> => {
        const r = await http.request('GET', `${users}?${new URLSearchParams({ email, exact: 'true' })}`, {
          headers: auth(token),
        });
        if (!r.ok) return r;
        const list = Array.isArray(r.value) ? (r.value as UserRepresentation[]) : [];
        const trusted = list.filter((u) => !cfg.require_verified_email || u.emailVerified === true);
        return { ok: true, value: trusted.map((u) => u.id).filter((id): id is string => typeof id === 'string') };
      }),
    writeClaims: (id, claims) =>
      withToken(tokens, async (token): Promise<Outcome<null>> => {
        const user = await getUser(token, id);
        if (!user.ok) return user;
        const u = user.value;
        const rep: UserRepresentation = {
          username: u.username,
          email: u.email,
          firstName: u.firstName,
          lastName: u.lastName,
          enabled: u.enabled,
          emailVerified: u.emailVerified,
          attributes: mergeAttributes(u.attributes, claims),
        };
        const put = await http.request('PUT', `${users}/${encodeURIComponent(id)}`, {
          headers: { ...auth(token), 'content-type': 'application/json' },
          body: JSON.stringify(rep),
        });
        if (!put.ok) return put;
        return cfg.verify_writes ? verify(await getUser(token, id), claims) : { ok: true, value: null };
      }),
    deleteUser: (id) =>
      withToken(tokens, async (token): Promise<Outcome<null>> => {
        const r = await http.request('DELETE', `${users}/${encodeURIComponent(id)}`, { headers: auth(token) });
        return r.ok ? { ok: true, value: null } : r;
      }),
  };
}

// With the user profile's unmanagedAttributePolicy DISABLED, Keycloak answers 204 and drops unknown attributes.
function verify(read: Outcome<UserRepresentation>, claims: IdentityClaims): Outcome<null> {
  if (!read.ok) return read;
  const want = flatClaims(claims);
  const got = read.value.attributes ?? {};
  const dropped = Object.entries(want)
    .filter(([k, v]) => v !== null && got[k]?.[0] !== v)
    .map(([k]) => k);
  if (dropped.length === 0) return { ok: true, value: null };
  return {
    ok: false,
    kind: 'invalid',
    message:
      `keycloak kept none of ${dropped.join(', ')}: declare them in the realm's user profile ` +
      'or set unmanagedAttributePolicy to ADMIN_EDIT',
  };
}
