import { createAdminApiClient } from '@shopify/admin-api-client';
import { HearthError } from '../../errors.ts';

// Shopify's Admin GraphQL API through the official client (`@shopify/admin-api-client`). The
// client always builds `https://<shop>/admin/api/<version>/graphql.json`; `admin_url` (a loopback
// simulator) is honoured by rewriting that origin in the client's `customFetchApi`, so the
// official request/response handling is what the tests exercise.

export interface ShopifyAdminConfig {
  /** `my-store.myshopify.com` */
  shop: string;
  access_token: string;
  api_version: string;
  /** Another origin for the same paths (a simulator); default https://<shop>. */
  admin_url?: string | undefined;
}

/** Shopify's calculated-query-cost bucket, from `extensions.cost.throttleStatus`. */
export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

export interface AdminDeps {
  fetch?: typeof fetch | undefined;
  sleep?: (ms: number) => Promise<void>;
  /** Called with each wait the throttle imposes (tests and logs). */
  onThrottle?: (waitMs: number) => void;
}

export interface AdminClient {
  /** One GraphQL call, paced by the cost bucket; THROTTLED answers wait and retry. */
  graphql<T>(query: string, variables?: Record<string, unknown>, expectedCost?: number): Promise<T>;
  /** GETs a URL Shopify handed out (a bulk result), with the same origin rewrite. */
  download(url: string): Promise<Response>;
  readonly throttle: ThrottleStatus | null;
}

const MAX_THROTTLED = 8;

export function createAdminClient(cfg: ShopifyAdminConfig, deps: AdminDeps = {}): AdminClient {
  const base = deps.fetch ?? fetch;
  const official = `https://${cfg.shop}`;
  const rewrite = (url: string) =>
    cfg.admin_url && url.startsWith(official) ? cfg.admin_url.replace(/\/$/, '') + url.slice(official.length) : url;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const client = createAdminApiClient({
    storeDomain: cfg.shop,
    apiVersion: cfg.api_version,
    accessToken: cfg.access_token,
    customFetchApi: (url, init) => base(rewrite(url), init as RequestInit),
    // An API version outside the client's rolling list is Shopify's to refuse, not a console warning.
    logger: () => {},
  });
  let throttle: ThrottleStatus | null = null;

  /** Waits until the bucket holds `cost` points at its restore rate (0 when it already does). */
  const pace = async (cost: number) => {
    if (!throttle || throttle.currentlyAvailable >= cost) return;
    const wait = Math.ceil(((cost - throttle.currentlyAvailable) / Math.max(1, throttle.restoreRate)) * 1000);
    deps.onThrottle?.(wait);
    await sleep(wait);
  };

  return {
    get throttle() {
      return throttle;
    },
    async graphql<T>(query: string, variables?: Record<string, unknown>, expectedCost = 10): Promise<T> {
      for (let attempt = 0; ; attempt++) {
        await pace(expectedCost);
        const res = await client.request(query, variables ? { variables } : {});
        const cost = (res.extensions as { cost?: { throttleStatus?: ThrottleStatus } } | undefined)?.cost;
        if (cost?.throttleStatus) throttle = { ...cost.throttleStatus };
        const errors = res.errors;
        const throttled = errors?.graphQLErrors?.some(
          (e) => (e as { extensions?: { code?: string } }).extensions?.code === 'THROTTLED',
        );
        if (throttled && attempt < MAX_THROTTLED) {
          // The bucket is empty: wait for the query's cost to restore (at least a second).
          if (throttle) throttle.currentlyAvailable = Math.min(throttle.currentlyAvailable, 0);
          if (!throttle) await sleep(1000);
          continue;
        }
        if (errors) throw adminError(errors);
        return res.data as T;
      }
    },
    async download(url: string): Promise<Response> {
      const res = await base(rewrite(url));
      if (!res.ok)
        throw new HearthError('connector_error', `shopify bulk result: HTTP ${res.status}`, { kind: 'transient' });
      return res;
    },
  };
}

function adminError(errors: { networkStatusCode?: number; message?: string; graphQLErrors?: unknown[] }): HearthError {
  const status = errors.networkStatusCode;
  const kind = status === 401 || status === 403 ? 'auth' : status && status >= 500 ? 'transient' : 'invalid';
  const first = (errors.graphQLErrors?.[0] as { message?: string } | undefined)?.message;
  return new HearthError('connector_error', `shopify admin API: ${first ?? errors.message ?? 'error'}`, {
    kind,
    ...(status ? { status } : {}),
  });
}
