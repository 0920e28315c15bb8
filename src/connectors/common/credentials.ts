import { createHash, createSign } from 'node:crypto';
import { z } from 'zod';
import type { ConnectorAuthStatus, FailureKind } from '../../canonical/types.ts';
import { HearthError, isHearthError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { scrubSecrets } from '../../log.ts';
import type { FetchLike } from './http.ts';
import type { SharedToken, TokenStore } from './credentials-store.ts';

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
  /** Resolves once a look at the shared state (started by `usable`/`status`) has finished (tests, doctor). */
  settled(): Promise<void>;
}

export interface CredentialDeps {
  connector: string;
  fetch?: FetchLike | undefined;
  now?: (() => number) | undefined;
  logger?: Logger | undefined;
  /** Renew this long before the vendor's expiry (default 5 minutes). */
  skew_ms?: number;
  /** Shares the token and `needs_reauth` with the other processes on the database (absent: memory only). */
  store?: TokenStore | undefined;
  /** How often `usable()`/`status()` look at the shared state (default 10 s). */
  poll_ms?: number;
}

const DEFAULT_SKEW_MS = 5 * 60_000;
const DEFAULT_POLL_MS = 10_000;
const JWT_TTL_S = 180;

/**
 * One credential per connector; renewals are single-flight (concurrent callers share one token
 * request). Without a store the token lives in this process's memory only. With a store
 * (credentials-store.ts) the renewal also holds the connector's lock across processes and re-reads
 * the shared row first: a token another process renewed is used as is (stored encrypted with the
 * data key; without one each process asks for its own), and a refused grant is seen by all.
 * Tokens are never logged.
 */
export function createCredential(spec: CredentialSpec, deps: CredentialDeps): Credential {
  const now = deps.now ?? Date.now;
  const skew = deps.skew_ms ?? DEFAULT_SKEW_MS;
  const store = spec.kind === 'static' ? undefined : deps.store;
  const grantFp = grantFingerprint(spec);
  const st: AuthStatus = {
    state: 'unknown',
    renewable: spec.kind !== 'static',
    expires_at: null,
    last_renewed_at: null,
    error: null,
  };
  let current: string | null = spec.kind === 'jwt_bearer' ? null : (spec.access_token ?? null);
  let inFlight: Promise<string> | null = null;
  let seenVersion = 0;
  let polledAt = Number.NEGATIVE_INFINITY;
  let polling: Promise<void> | null = null;

  const refuse = (): never => {
    throw new HearthError('connector_error', `${deps.connector}: ${st.error ?? 'credential refused'}`, {
      kind: 'auth' satisfies FailureKind,
      auth_state: st.state,
    });
  };
  const adoptIssued = (t: Issued, logged: string) => {
    current = t.access_token;
    Object.assign(st, { state: 'ok', expires_at: t.expires_at, last_renewed_at: now(), error: null });
    deps.logger?.info({ connector: deps.connector, expires_at: t.expires_at }, logged);
  };
  const needsReauth = (error: string) => {
    const was = st.state;
    current = null;
    Object.assign(st, { state: 'needs_reauth', error });
    if (was !== 'needs_reauth')
      deps.logger?.error({ connector: deps.connector, error }, 'credential needs re-authorisation');
  };
  const asRefusal = (err: unknown): string | null =>
    isHearthError(err) && err.details?.kind === 'auth' ? err.message : null;
  const fresh = () => current !== null && (st.expires_at === null || st.expires_at - skew > now());
  const rowFresh = (r: SharedToken, rejected: string | null) =>
    r.state === 'ok' &&
    r.access_token !== null &&
    r.access_token !== rejected &&
    (r.expires_at === null || r.expires_at - skew > now());

  /** This process alone: ask the token endpoint. */
  const renewLocal = () =>
    requestToken(spec, deps, now).then(
      (t) => {
        adoptIssued(t, 'credential renewed');
        return t.access_token;
      },
      (err: unknown) => {
        const why = asRefusal(err);
        if (why !== null) needsReauth(why);
        throw err;
      },
    );

  /** Under the connector's lock across processes: use the stored token when it is still good. */
  const renewShared = async (s: TokenStore, rejected: string | null): Promise<string> => {
    // What the token endpoint answered, kept should the write after it fail.
    let answered: Renewal | null = null;
    let outcome: Renewal;
    try {
      outcome = await underLock(s, rejected, (r) => {
        answered = r;
        return r;
      });
    } catch (err) {
      // The database (or a data key that does not open the row) failed, not the grant: this
      // process goes on alone, as before the store existed.
      deps.logger?.warn({ connector: deps.connector, err }, 'shared credential unavailable; renewing in this process');
      if (answered) return settle(answered);
      return renewLocal();
    }
    polledAt = now();
    return settle(outcome);
  };

  const underLock = (s: TokenStore, rejected: string | null, answer: (r: Renewal) => Renewal): Promise<Renewal> =>
    s.renewing<Renewal>(deps.connector, async (row) => {
      if (row?.state === 'needs_reauth' && row.grant_fp === grantFp)
        return { write: null, value: { refused: row.error ?? 'the grant was refused', version: row.version } };
      if (row && rowFresh(row, rejected))
        return { write: null, value: { shared: { ...row, access_token: row.access_token! } } };
      const version = (row?.version ?? 0) + 1;
      try {
        const t = await requestToken(spec, deps, now);
        const write = { ...t, state: 'ok' as const, error: null, grant_fp: grantFp };
        return { write, value: answer({ issued: t, version }) };
      } catch (err) {
        const why = asRefusal(err);
        if (why === null) return { write: null, value: answer({ failed: err }) };
        const write = { access_token: null, expires_at: null, state: 'needs_reauth' as const, error: why };
        return { write: { ...write, grant_fp: grantFp }, value: answer({ refused: why, version }) };
      }
    });

  const settle = (outcome: Renewal): string => {
    if ('failed' in outcome) throw outcome.failed;
    if ('refused' in outcome) {
      seenVersion = outcome.version;
      needsReauth(outcome.refused);
      return refuse();
    }
    if ('shared' in outcome) {
      seenVersion = outcome.shared.version;
      adoptIssued(outcome.shared, 'credential taken from another process');
      return outcome.shared.access_token;
    }
    seenVersion = outcome.version;
    adoptIssued(outcome.issued, 'credential renewed');
    return outcome.issued.access_token;
  };

  const renewNow = (rejected: string | null): Promise<string> => {
    inFlight ??= (store ? renewShared(store, rejected) : renewLocal()).finally(() => {
      inFlight = null;
    });
    return inFlight;
  };

  /**
   * Follows the shared row between renewals (at most every poll_ms): another process saw the grant
   * refused (this one pauses too), or renewed with a new grant (this one resumes with its token).
   */
  const poll = () => {
    if (!store || polling || inFlight || now() - polledAt < (deps.poll_ms ?? DEFAULT_POLL_MS)) return;
    polledAt = now();
    polling = store
      .read(deps.connector)
      .then((row) => {
        if (!row || row.version === seenVersion) return;
        seenVersion = row.version;
        if (row.state === 'needs_reauth' && row.grant_fp === grantFp) needsReauth(row.error ?? 'grant refused');
        else if (row.state === 'ok' && st.state === 'needs_reauth') {
          if (row.access_token !== null)
            adoptIssued({ access_token: row.access_token, expires_at: row.expires_at }, 'credential resumed');
          else {
            // Tokens are not shared (no data key): try this process's own grant again on the next call.
            current = null;
            Object.assign(st, { state: 'unknown', error: null });
          }
        }
      })
      .catch((err: unknown) => {
        deps.logger?.warn({ connector: deps.connector, err }, 'could not read the shared credential state');
      })
      .finally(() => {
        polling = null;
      });
  };

  return {
    async token() {
      if (spec.kind === 'static') return spec.access_token;
      if (st.state === 'needs_reauth') refuse();
      if (fresh()) return current!;
      return renewNow(null);
    },
    async renew(rejected) {
      if (spec.kind === 'static') {
        Object.assign(st, { state: 'rejected', error: 'the configured access token was refused (401)' });
        refuse();
      }
      if (st.state === 'needs_reauth') refuse();
      // Another caller already replaced the refused token.
      if (current !== null && current !== rejected && fresh()) return current;
      return renewNow(rejected);
    },
    succeeded() {
      if (st.state !== 'needs_reauth') Object.assign(st, { state: 'ok', error: null });
    },
    status: () => {
      poll();
      return { ...st };
    },
    usable: () => {
      poll();
      return st.state !== 'needs_reauth';
    },
    settled: async () => {
      poll();
      await polling;
    },
  };
}

/** Which grant a shared row belongs to: a SHA-256 prefix over the grant (the secret cannot be read back). */
export function grantFingerprint(spec: CredentialSpec): string {
  const parts =
    spec.kind === 'static'
      ? ['static']
      : spec.kind === 'refresh_token'
        ? ['refresh_token', spec.token_url, spec.grant.client_id, spec.grant.refresh_token]
        : ['jwt_bearer', spec.token_url, spec.grant.client_id, spec.grant.username, spec.grant.private_key];
  return createHash('sha256').update(parts.join('\0')).digest('base64url').slice(0, 22);
}

/** What a renewal under the shared lock came to. */
type Renewal =
  | { refused: string; version: number }
  | { shared: Issued & { version: number } }
  | { issued: Issued; version: number }
  | { failed: unknown };

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
