import type { FetchLike } from '../common/http.ts';

/** What `node-zendesk` hands back from a request: the adapted response (status, headers) and the parsed body. */
interface SdkAnswer {
  response: { status: number; headers: { get(name: string): string | null } };
  result: unknown;
}

/**
 * The slice of the `node-zendesk` client Hearth uses, typed as the 6.x code behaves. Its own
 * typings say `createOrUpdateMany(users: object[])`, but the method posts its argument as the
 * body, and Zendesk wants `{ users: [...] }`; `response` is typed `object`.
 */
export interface ZendeskSdk {
  users: {
    createOrUpdateMany(body: { users: unknown[] }): Promise<SdkAnswer>;
    /** Follows `next_page`; the users of every page (an error answer with `Retry-After` comes back as an item). */
    search(params: { query: string }): Promise<unknown[]>;
    /** `DELETE /users/:id`: the soft delete. */
    delete(id: number | string): Promise<SdkAnswer>;
    /**
     * Any path on the client (`['deleted_users', id]`, a last object is the query string); the
     * SDK has no call for the permanent delete, and its `search` reads every page, losing `Retry-After`.
     */
    request(method: string, path: (string | number | Record<string, string>)[]): Promise<SdkAnswer>;
  };
  jobstatuses: { show(id: string): Promise<SdkAnswer> };
  userfields: { create(body: { user_field: Record<string, unknown> }): Promise<SdkAnswer> };
}

/** One Zendesk answer as the connector reads it, whether the SDK returned or threw it. */
export interface ZendeskAnswer {
  status: number;
  retryAfter: string | null;
  json: any;
}

export interface SdkOptions {
  /** The API root, `…/api/v2` (`apiRoot(cfg)`: the account or a simulator). */
  endpointUri: string;
  email: string;
  api_token: string;
  /** Per-request timeout; none by default (the writes never had one). */
  timeout_ms?: number | undefined;
}

/** A fetch answer read to the end: the SDK only reads JSON bodies, and an unread body holds its socket. */
interface Buffered {
  status: number;
  headers: { get(name: string): string | null };
  text: string;
}

/**
 * A lazily built client: `node-zendesk` is imported on the first request, not when Hearth starts
 * (most processes never write to Zendesk). Requests go through `fetchFn` (an injected fetch in
 * tests, the global one otherwise), not the SDK's bundled `cross-fetch`.
 */
export function lazyZendeskSdk(o: SdkOptions, fetchFn: FetchLike): () => Promise<ZendeskSdk> {
  let sdk: Promise<ZendeskSdk> | undefined;
  return () => {
    sdk ??= build(o, fetchFn);
    return sdk;
  };
}

async function build(o: SdkOptions, fetchFn: FetchLike): Promise<ZendeskSdk> {
  // A CommonJS bundle whose named exports Node cannot detect: everything is on `default`.
  const { createClient } = (await import('node-zendesk')).default;
  const client = createClient({
    endpointUri: o.endpointUri,
    username: o.email,
    token: o.api_token,
    // Errors keep `statusCode` (and the body as `result`) instead of becoming a bare message.
    throwOriginalException: true,
    transportConfig: {
      transportFn: async (uri: string, req: { method: string; headers: Record<string, string>; body?: string }) => {
        const res = await fetchFn(uri, {
          method: req.method,
          headers: req.headers,
          ...(req.body === undefined ? {} : { body: req.body }),
          ...(o.timeout_ms === undefined ? {} : { signal: AbortSignal.timeout(o.timeout_ms) }),
        });
        return { status: res.status, headers: res.headers, text: await res.text() } satisfies Buffered;
      },
      responseAdapter: (res: Buffered) => ({
        status: res.status,
        headers: res.headers,
        json: async () => (res.text ? JSON.parse(res.text) : {}),
      }),
    },
  });
  return client as unknown as ZendeskSdk;
}

/**
 * The status, `Retry-After` and body of one SDK request. The SDK throws on some statuses (400,
 * 401, 403, 404, 405, 409, 422, 429, 500, 503: an error with `statusCode` and the body as
 * `result`) but returns any answer carrying `Retry-After`, and every other status, with its
 * response: the status is read from the response, never from the SDK's verdict (it calls every
 * answer with `Retry-After` a 429, a 503 included). A thrown answer never had `Retry-After`. A
 * network failure (no `statusCode`) is rethrown as it was.
 */
export async function answerOf(request: Promise<SdkAnswer>): Promise<ZendeskAnswer> {
  try {
    const { response, result } = await request;
    // With `Retry-After` the result is the SDK's error, holding the body.
    const json = result instanceof Error ? ((result as { result?: unknown }).result ?? null) : result;
    return { status: response.status, retryAfter: response.headers.get('retry-after'), json };
  } catch (err) {
    const status = (err as { statusCode?: unknown } | null)?.statusCode;
    if (typeof status !== 'number') throw err;
    return { status, retryAfter: null, json: (err as { result?: unknown }).result ?? null };
  }
}
