import { createSign } from 'node:crypto';
import { z } from 'zod';
import type { ConnectorAuthStatus, FailureKind } from '../../canonical/types.ts';
import { HearthError, isHearthError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { scrubSecrets } from '../../log.ts';
import type { FetchLike } from './http.ts';

/** OAuth2 refresh-token grant (HubSpot apps, Salesforce connected apps, Zoho clients). */
export const refreshGrantSchema = z.object({
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
  refresh_token: z.string().min(1),
  /** Default: the vendor's token endpoint (derived from the connector's base or login URL). */
  token_url: z.url().optional(),
});

/** OAuth2 JWT bearer grant (RFC 7523; Salesforce server-to-server): a signed assertion, no user present. */
export const jwtGrantSchema = z.object({
  client_id: z.string().min(1),
  /** The user the integration acts as (`sub`). */
  username: z.string().min(1),
  /** PEM private key whose certificate is uploaded to the connected app. */
  private_key: z.string().min(1),
  /** `aud`: default the login URL. */
  audience: z.string().optional(),
  token_url: z.url().optional(),
});

export type RefreshGrant = z.infer<typeof refreshGrantSchema>;
export type JwtGrant = z.infer<typeof jwtGrantSchema>;

/** How a connector authenticates: a fixed token (private apps, tests), or a grant that renews. */
export type CredentialSpec =
  | { kind: 'static'; access_token: string }
  | { kind: 'refresh_token'; token_url: string; grant: RefreshGrant; access_token?: string | undefined }
  | { kind: 'jwt_bearer'; token_url: string; audience: string; grant: JwtGrant };

/**
 * `ok`: the last call or renewal worked; `needs_reauth`: the grant was refused (revoked, expired
 * refresh token) — jobs wait until a new grant is configured; `rejected`: a fixed token was
 * refused (a new token must be configured); `unknown`: not used yet.
 */
export type AuthState = 'ok' | 'needs_reauth' | 'rejected' | 'unknown';

export type AuthStatus = ConnectorAuthStatus & { state: AuthState };

export interface Credential {
  /** A current access token, renewed first when it expires within the skew window. */
  token(): Promise<string>;
  /** The vendor refused `rejected` (HTTP 401): renew once (single-flight) and return the new token. */
  renew(rejected: string): Promise<string>;
  /** A call with the current token succeeded (a fixed token that was refused may have been fixed upstream). */
  succeeded(): void;
  status(): AuthStatus;
  /** False while the connector needs a new grant: its job loop leaves the jobs waiting. */
  usable(): boolean;
}

export interface CredentialDeps {
  connector: string;
  fetch?: FetchLike | undefined;
  now?: (() => number) | undefined;
  logger?: Logger | undefined;
  /** Renew this long before the vendor's expiry (default 5 minutes). */
  skew_ms?: number;
}

const DEFAULT_SKEW_MS = 5 * 60_000;
const JWT_TTL_S = 180;

/**
 * One credential per connector: the current token lives in memory only (never stored, never
 * logged); renewals are single-flight (concurrent callers share one token request). Each process
 * renews on its own: HubSpot, Salesforce and Zoho do not rotate refresh tokens, so two processes
 * renewing at once each get a valid token and neither invalidates the other.
 */
export function createCredential(spec: CredentialSpec, deps: CredentialDeps): Credential {
  const now = deps.now ?? Date.now;
  const skew = deps.skew_ms ?? DEFAULT_SKEW_MS;
  const st: AuthStatus = {
    state: 'unknown',
    renewable: spec.kind !== 'static',
    expires_at: null,
    last_renewed_at: null,
    error: null,
  };
  let current: string | null = spec.kind === 'jwt_bearer' ? null : (spec.access_token ?? null);
  let inFlight: Promise<string> | null = null;

  const refuse = (): never => {
    throw new HearthError('connector_error', `${deps.connector}: ${st.error ?? 'credential refused'}`, {
      kind: 'auth' satisfies FailureKind,
      auth_state: st.state,
    });
  };
  const renewNow = (): Promise<string> => {
    inFlight ??= requestToken(spec, deps, now)
      .then((t) => {
        current = t.access_token;
        Object.assign(st, { state: 'ok', expires_at: t.expires_at, last_renewed_at: now(), error: null });
        deps.logger?.info({ connector: deps.connector, expires_at: t.expires_at }, 'credential renewed');
        return t.access_token;
      })
      .catch((err: unknown) => {
        if (isHearthError(err) && err.details?.kind === 'auth') {
          Object.assign(st, { state: 'needs_reauth', error: err.message });
          deps.logger?.error({ connector: deps.connector, error: err.message }, 'credential needs re-authorisation');
        }
        throw err;
      })
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  };
  const fresh = () => current !== null && (st.expires_at === null || st.expires_at - skew > now());

  return {
    async token() {
      if (spec.kind === 'static') return spec.access_token;
      if (st.state === 'needs_reauth') refuse();
      if (fresh()) return current!;
      return renewNow();
    },
    async renew(rejected) {
      if (spec.kind === 'static') {
        Object.assign(st, { state: 'rejected', error: 'the configured access token was refused (401)' });
        refuse();
      }
      if (st.state === 'needs_reauth') refuse();
      // Another caller already replaced the refused token.
      if (current !== null && current !== rejected && fresh()) return current;
      return renewNow();
    },
    succeeded() {
      if (st.state !== 'needs_reauth') Object.assign(st, { state: 'ok', error: null });
    },
    status: () => ({ ...st }),
    usable: () => st.state !== 'needs_reauth',
  };
}

interface Issued {
  access_token: string;
  expires_at: number | null;
}

async function requestToken(spec: CredentialSpec, deps: CredentialDeps, now: () => number): Promise<Issued> {
  if (spec.kind === 'static') return { access_token: spec.access_token, expires_at: null };
  const params: Record<string, string> =
    spec.kind === 'refresh_token'
      ? {
          grant_type: 'refresh_token',
          client_id: spec.grant.client_id,
          client_secret: spec.grant.client_secret,
          refresh_token: spec.grant.refresh_token,
        }
      : { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwtAssertion(spec, now) };
  const send = deps.fetch ?? (globalThis.fetch as unknown as FetchLike);
  let res: Awaited<ReturnType<FetchLike>>;
  try {
    res = await send(spec.token_url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw tokenError('transient', `token endpoint unreachable: ${(err as Error).message}`);
  }
  const body = parseBody(await res.text());
  return issuedToken(res.status, body, now);
}

/** A token response: Zoho answers 200 with `{ error }` on a bad grant, the others 400/401. */
export function issuedToken(status: number, body: Record<string, unknown>, now: () => number): Issued {
  const token = typeof body.access_token === 'string' ? body.access_token : '';
  if (status < 300 && token) {
    const ttl = Number(body.expires_in);
    return { access_token: token, expires_at: Number.isFinite(ttl) && ttl > 0 ? now() + ttl * 1000 : null };
  }
  const code = String(body.error ?? `HTTP ${status}`);
  const described = body.error_description ? ` (${body.error_description})` : '';
  const why = `token endpoint refused the grant: ${code}${described}`;
  // 5xx and 429 are the endpoint's trouble; anything else means the grant itself is no good.
  const kind: FailureKind = status >= 500 || status === 429 ? 'transient' : 'auth';
  throw tokenError(kind, why);
}

function tokenError(kind: FailureKind, message: string): HearthError {
  return new HearthError('connector_error', scrubSecrets(message), { kind });
}

function parseBody(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return { error: 'non-JSON response', error_description: text.slice(0, 200) };
  }
}

/** RS256 JWT: iss = client id, sub = user, aud = login URL, exp within 3 minutes (Salesforce's limit). */
export function jwtAssertion(spec: Extract<CredentialSpec, { kind: 'jwt_bearer' }>, now: () => number): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const exp = Math.floor(now() / 1000) + JWT_TTL_S;
  const head = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({
    iss: spec.grant.client_id,
    sub: spec.grant.username,
    aud: spec.audience,
    exp,
  })}`;
  const sig = createSign('RSA-SHA256').update(head).sign(spec.grant.private_key).toString('base64url');
  return `${head}.${sig}`;
}

/** The failure a delivery reports when its credential cannot be had (the jobs retry or wait). */
export function credentialFailure(err: unknown): { ok: false; kind: FailureKind; message: string } | null {
  if (!isHearthError(err) || err.code !== 'connector_error') return null;
  const kind = err.details?.kind;
  if (kind !== 'auth' && kind !== 'transient') return null;
  return { ok: false, kind, message: err.message };
}

const byConfig = new WeakMap<object, Credential>();

/** One credential per validated connector config: the connector and its household reader share it. */
export function credentialFor(cfg: object, make: () => Credential): Credential {
  let c = byConfig.get(cfg);
  if (!c) {
    c = make();
    byConfig.set(cfg, c);
  }
  return c;
}

/** The credential part of a connector's config, as validated. */
export interface CredentialConfig {
  access_token?: string | undefined;
  oauth?: RefreshGrant | undefined;
  jwt?: JwtGrant | undefined;
}

/** A config names a token or a grant (zod refinement message below). */
export const hasCredential = (c: CredentialConfig): boolean => Boolean(c.access_token || c.oauth || c.jwt);
export const CREDENTIAL_REQUIRED = 'needs access_token, or oauth (client_id, client_secret, refresh_token)';

/** What the config asks for: a grant when one is given (an access_token beside it is used until it fails). */
export function credentialSpec(c: CredentialConfig, d: { token_url: string; audience?: string }): CredentialSpec {
  if (c.jwt)
    return {
      kind: 'jwt_bearer',
      token_url: c.jwt.token_url ?? d.token_url,
      audience: c.jwt.audience ?? d.audience ?? d.token_url,
      grant: c.jwt,
    };
  if (c.oauth)
    return {
      kind: 'refresh_token',
      token_url: c.oauth.token_url ?? d.token_url,
      grant: c.oauth,
      access_token: c.access_token,
    };
  return { kind: 'static', access_token: c.access_token ?? '' };
}
