import { HearthError } from '../errors.ts';
import type { DeliveryResult } from '../canonical/types.ts';

type Failure = Extract<DeliveryResult, { ok: false }>;

export interface PullRetryOptions {
  /** Calls in all, the first included (default 5). */
  max_attempts?: number;
  /** A 429 asking to wait longer than this is not waited out: the pull fails and resumes later (default 60 s). */
  max_wait_ms?: number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs one read call of a pull, waiting out rate limits (the vendor's Retry-After) and retrying
 * transient failures with a short exponential backoff. Anything else, or a wait too long to sit
 * through, becomes HearthError('connector_error') carrying the neutral `kind`.
 */
export async function withPullRetries<T>(
  call: () => Promise<T>,
  classify: (err: unknown) => Failure,
  opts: PullRetryOptions = {},
): Promise<T> {
  const maxAttempts = opts.max_attempts ?? 5;
  const maxWait = opts.max_wait_ms ?? 60_000;
  const sleep = opts.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const f = classify(err);
      const wait = retryWait(f, attempt);
      if (wait === null || attempt >= maxAttempts || wait > maxWait)
        throw new HearthError('connector_error', f.message, {
          kind: f.kind,
          attempts: attempt,
          ...(f.retry_after_ms !== undefined ? { retry_after_ms: f.retry_after_ms } : {}),
        });
      await sleep(wait);
    }
  }
}

function retryWait(f: Failure, attempt: number): number | null {
  if (f.kind === 'rate_limited') return f.retry_after_ms ?? 1000;
  if (f.kind === 'transient') return 250 * 2 ** (attempt - 1);
  return null;
}

/** Runs a read; a `not_found` failure becomes null (the record is gone), anything else is thrown. */
export async function orNullIfMissing<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof HearthError && err.details?.kind === 'not_found') return null;
    throw err;
  }
}
