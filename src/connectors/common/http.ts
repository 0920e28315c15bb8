import type { FailureKind } from '../../canonical/types.ts';

/** The slice of `fetch` connectors use (tests and simulators pass their own). */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

/**
 * One mapping of an HTTP status to a neutral failure kind for every connector: 429 is a rate
 * limit; 408 (request timeout) and 5xx are transient; 401/403 auth; 404/410 not found; other 4xx
 * a request the vendor refused.
 */
export function kindOfStatus(status: number): FailureKind {
  if (status === 429) return 'rate_limited';
  if (status === 408 || status >= 500) return 'transient';
  if (status === 401 || status === 403) return 'auth';
  if (status === 404 || status === 410) return 'not_found';
  if (status >= 400) return 'invalid';
  return 'unknown';
}

/** `Retry-After` as milliseconds from now: either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null | undefined, now: () => number): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now());
}

/** The same, as an optional property of a failed `DeliveryResult`. */
export function retryAfter(header: string | null, now: () => number): { retry_after_ms?: number } {
  const ms = parseRetryAfter(header, now);
  return ms === undefined ? {} : { retry_after_ms: ms };
}
