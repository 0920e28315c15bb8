import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { sendJson } from './http.ts';

/** What a simulator's OAuth2 token endpoint accepts. */
export interface OAuthSimOptions {
  client_id: string;
  client_secret: string;
  refresh_token: string;
  /** Lifetime of an issued access token (seconds); null: no `expires_in` (Salesforce sessions). */
  ttl_s?: number | null;
  /** PEM public key of a JWT bearer client (Salesforce connected app certificate). */
  jwt_public_key?: string;
}

export interface OAuthSim {
  /** POST token path with a form body (or query, Zoho): answers and returns true when it is the token path. */
  handle(path: string, method: string, params: URLSearchParams, res: ServerResponse): boolean;
  /** An access token this endpoint issued and that has not expired or been revoked. */
  valid(token: string | undefined): boolean;
  /** Every grant call so far (refresh and JWT). */
  readonly grants: number;
  /** The refresh token stops working (`invalid_grant`), like a user revoking the app. */
  revoke(): void;
  /** A new refresh token is valid again (re-consent). */
  regrant(refresh_token: string): void;
  /** Issued tokens stop working now (a session timeout or an admin "revoke all sessions"). */
  expireAll(): void;
}

/** An OAuth2 token endpoint: refresh-token grant and, with a public key, the JWT bearer grant (RS256). */
export function createOAuthSim(path: string, o: OAuthSimOptions): OAuthSim {
  const issued = new Map<string, number>();
  const key = o.jwt_public_key ? createPublicKey(o.jwt_public_key) : null;
  let refresh = o.refresh_token;
  let grants = 0;
  let seq = 0;
  const ttl = o.ttl_s === undefined ? 3600 : o.ttl_s;

  const issue = (res: ServerResponse) => {
    const token = `sim-at-${++seq}-${Math.random().toString(36).slice(2, 10)}`;
    issued.set(token, ttl === null ? Number.POSITIVE_INFINITY : Date.now() + ttl * 1000);
    sendJson(res, 200, { access_token: token, token_type: 'Bearer', ...(ttl === null ? {} : { expires_in: ttl }) });
  };
  const refuse = (res: ServerResponse, error: string, status = 400) =>
    sendJson(res, status, { error, error_description: `${error} (simulated)` });

  return {
    handle(p, method, params, res) {
      if (p !== path || method !== 'POST') return false;
      grants++;
      const grant = params.get('grant_type');
      if (grant === 'refresh_token') {
        if (params.get('client_id') !== o.client_id || params.get('client_secret') !== o.client_secret)
          refuse(res, 'invalid_client', 401);
        else if (params.get('refresh_token') !== refresh) refuse(res, 'invalid_grant');
        else issue(res);
      } else if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer' && key) {
        if (jwtValid(params.get('assertion') ?? '', key, o.client_id)) issue(res);
        else refuse(res, 'invalid_grant');
      } else refuse(res, 'unsupported_grant_type');
      return true;
    },
    valid: (token) => token !== undefined && (issued.get(token) ?? 0) > Date.now(),
    get grants() {
      return grants;
    },
    revoke: () => {
      refresh = `revoked-${Math.random()}`;
      issued.clear();
    },
    regrant: (t) => {
      refresh = t;
    },
    expireAll: () => issued.clear(),
  };
}

function jwtValid(assertion: string, key: KeyObject, clientId: string): boolean {
  const [h, p, s] = assertion.split('.');
  if (!h || !p || !s) return false;
  const ok = verifySignature('RSA-SHA256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'));
  if (!ok) return false;
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as { iss?: string; exp?: number };
  return claims.iss === clientId && typeof claims.exp === 'number' && claims.exp * 1000 > Date.now();
}

/** Token request parameters: a form body, or the query string (Zoho accepts both). */
export function tokenParams(url: URL, body: string): URLSearchParams {
  const params = new URLSearchParams(url.search);
  for (const [k, v] of new URLSearchParams(body)) params.set(k, v);
  return params;
}
