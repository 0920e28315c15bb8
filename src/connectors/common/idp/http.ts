import { scrubSecrets } from '../../../log.ts';
import type { DeliveryResult } from '../../../canonical/types.ts';
import { kindOfStatus, retryAfter } from '../http.ts';

/** The slice of `fetch` the IdP connectors use (injectable for tests). */
export type IdpFetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

export type Failure = Extract<DeliveryResult, { ok: false }>;
export type Outcome<T> = { ok: true; value: T } | Failure;

export interface HttpDeps {
  fetch?: IdpFetch | undefined;
  now?: (() => number) | undefined;
  timeout_ms?: number | undefined;
}

export interface HttpClient {
  /** Sends a request; 2xx -> parsed JSON body (null when empty); else a neutral failure. Never throws. */
  request(
    method: string,
    url: string,
    o?: { headers?: Record<string, string>; body?: string },
  ): Promise<Outcome<unknown>>;
  now(): number;
}

/** A small JSON-over-HTTP client whose failures are values in Hearth's neutral kinds. */
export function createHttpClient(system: string, deps: HttpDeps): HttpClient {
  const send = deps.fetch ?? (globalThis.fetch as unknown as IdpFetch);
  const now = deps.now ?? Date.now;
  const timeout = deps.timeout_ms ?? 10_000;
  return {
    now,
    async request(method, url, o = {}) {
      try {
        const res = await send(url, {
          method,
          headers: { accept: 'application/json', ...o.headers },
          ...(o.body !== undefined ? { body: o.body } : {}),
          signal: AbortSignal.timeout(timeout),
        });
        const text = await res.text().catch(() => '');
        if (res.status >= 200 && res.status < 300) return { ok: true, value: parseBody(text) };
        return httpFailure(system, method, url, res.status, text, retryAfterOf(res.headers, now), now);
      } catch (err) {
        return {
          ok: false,
          kind: 'transient',
          message: scrubSecrets(`${system} ${method} ${pathOf(url)}: ${(err as Error).message}`),
        };
      }
    },
  };
}

/** `Retry-After`, else Auth0's `X-RateLimit-Reset` (epoch seconds) as an HTTP date. */
function retryAfterOf(headers: { get(name: string): string | null }, now: () => number): string | null {
  const header = headers.get('retry-after');
  if (header) return header;
  const reset = Number(headers.get('x-ratelimit-reset'));
  return Number.isFinite(reset) && reset > 0 ? String(Math.max(0, Math.ceil(reset - now() / 1000))) : null;
}

function parseBody(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function httpFailure(
  system: string,
  method: string,
  url: string,
  status: number,
  text: string,
  retryAfterHeader: string | null,
  now: () => number,
): Failure {
  const detail = scrubSecrets(text.slice(0, 300));
  return {
    ok: false,
    kind: kindOfStatus(status),
    message: `${system} ${method} ${pathOf(url)}: HTTP ${status} ${detail}`.trim(),
    ...retryAfter(retryAfterHeader, now),
  };
}

// Only the path goes into error messages: query strings carry e-mail addresses.
function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '(url)';
  }
}

export interface TokenCache {
  /** A valid access token: cached until shortly before it expires; one fetch in flight at a time. */
  get(): Promise<Outcome<string>>;
  /** Forget the token (the API said 401: it was revoked or rotated). */
  invalidate(): void;
}

/** Caches a client-credentials token; `fetchToken` returns the token and its lifetime in seconds. */
export function createTokenCache(
  fetchToken: () => Promise<Outcome<{ token: string; expires_in: number }>>,
  now: () => number,
): TokenCache {
  let cached: { token: string; expires_at: number } | null = null;
  let inflight: Promise<Outcome<string>> | null = null;
  const refresh = async (): Promise<Outcome<string>> => {
    const r = await fetchToken();
    if (!r.ok) return r;
    // Renew a little early (10% of the lifetime, at most a minute) so a request never carries a token about to expire.
    const margin = Math.min(60_000, r.value.expires_in * 100);
    cached = { token: r.value.token, expires_at: now() + r.value.expires_in * 1000 - margin };
    return { ok: true, value: r.value.token };
  };
  return {
    get() {
      if (cached && now() < cached.expires_at) return Promise.resolve({ ok: true, value: cached.token });
      inflight ??= refresh().finally(() => {
        inflight = null;
      });
      return inflight;
    },
    invalidate() {
      cached = null;
    },
  };
}

/** Reads `{ access_token, expires_in }` from an OAuth token response. */
export function tokenOf(system: string, body: unknown): Outcome<{ token: string; expires_in: number }> {
  const b = body as { access_token?: unknown; expires_in?: unknown } | null;
  if (!b || typeof b.access_token !== 'string')
    return { ok: false, kind: 'auth', message: `${system}: token response has no access_token` };
  const expires = Number(b.expires_in);
  return {
    ok: true,
    value: { token: b.access_token, expires_in: Number.isFinite(expires) && expires > 0 ? expires : 300 },
  };
}

/** Calls `fn` with a token; on an auth failure, fetches a fresh token once and tries again. */
export async function withToken<T>(cache: TokenCache, fn: (token: string) => Promise<Outcome<T>>): Promise<Outcome<T>> {
  const first = await cache.get();
  if (!first.ok) return first;
  const r = await fn(first.value);
  if (r.ok || r.kind !== 'auth') return r;
  cache.invalidate();
  const second = await cache.get();
  return second.ok ? fn(second.value) : second;
}
