/**
 * Faults a simulator injects into incoming requests. Counters (`*_next`) decrease as they fire;
 * `*_every` fire on every n-th request; `slow_ms` delays every request.
 */
export interface FaultPlan {
  rate_limit_next?: number;
  rate_limit_every?: number;
  server_error_next?: number;
  /** Destroy the socket without answering (the client sees ECONNRESET / socket hang up). */
  drop_next?: number;
  slow_ms?: number;
  /** Never answer a request whose body contains this text (one contact's calls hang; the others do not). */
  hang_if_body_includes?: string;
  /** Seconds sent in Retry-After with a HubSpot 429 (default 1); null sends no header. */
  retry_after_s?: number | null;
  /** Refuse every erasure call (a GDPR delete, a DELETE of a record) with this status and message. */
  reject_delete?: { status: number; message: string };
}

export type Fault = 'rate_limit' | 'server_error' | 'drop';

export interface Faults {
  set(plan: FaultPlan): void;
  readonly plan: Readonly<FaultPlan>;
}

export interface FaultState extends Faults {
  /** Decides the fault (if any) for the next request, consuming one-shot counters. */
  next(): Fault | null;
}

export function createFaults(): FaultState {
  let plan: FaultPlan = {};
  let seen = 0;
  return {
    set: (p) => {
      plan = { ...p };
      seen = 0;
    },
    get plan() {
      return plan;
    },
    next: () => {
      seen++;
      if (plan.drop_next) return (plan.drop_next--, 'drop');
      if (plan.rate_limit_next) return (plan.rate_limit_next--, 'rate_limit');
      if (plan.rate_limit_every && seen % plan.rate_limit_every === 0) return 'rate_limit';
      if (plan.server_error_next) return (plan.server_error_next--, 'server_error');
      return null;
    },
  };
}

/** Waits `slow_ms` if the plan says so (a slow vendor, still answering). */
export async function delay(plan: Readonly<FaultPlan>): Promise<void> {
  if (plan.slow_ms) await new Promise((r) => setTimeout(r, plan.slow_ms));
}
