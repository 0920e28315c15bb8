import type { DeliveryResult, FailureKind } from '../canonical/types.ts';

export interface RetryPolicy {
  max_attempts: number;
  base_delay_ms: number;
  max_delay_ms: number;
}

export type Settlement =
  | { status: 'done' }
  | { status: 'retry'; delay_ms: number; error: string; kind: FailureKind }
  | { status: 'dead'; error: string; kind: FailureKind };

/** Exponential backoff with "equal jitter": half fixed, half random, so retries spread out. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.max_delay_ms, policy.base_delay_ms * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * What to do with a job after an attempt. A 429 says "later", not "never": it waits as long as
 * the vendor asks and gets three times the attempt budget before dead-lettering. `invalid` and
 * `not_found` will not get better by retrying, so they go to the dead letters at once.
 */
export function settle(
  result: DeliveryResult,
  attempts: number,
  policy: RetryPolicy,
  random: () => number,
): Settlement {
  if (result.ok) return { status: 'done' };
  const { kind, message } = result;
  if (kind === 'invalid' || kind === 'not_found') return { status: 'dead', error: message, kind };
  const budget = kind === 'rate_limited' ? policy.max_attempts * 3 : policy.max_attempts;
  if (attempts >= budget) return { status: 'dead', error: message, kind };
  const delay =
    kind === 'rate_limited' && result.retry_after_ms !== undefined
      ? result.retry_after_ms + Math.round(random() * Math.min(1000, result.retry_after_ms * 0.1))
      : backoffDelay(attempts, policy, random);
  return { status: 'retry', delay_ms: delay, error: message, kind };
}
