/** What the delivery loop does with a target's due jobs: send them, leave them queued, or record them (shadow). */
export type DeliveryGate = 'send' | 'hold' | 'shadow';

/** Per target: the gate for its jobs, with exceptions by job kind (one flow held or shadowed). */
export interface GatePlan {
  all: DeliveryGate;
  byKind: ReadonlyMap<string, DeliveryGate>;
}

export const SEND_ALL: GatePlan = { all: 'send', byKind: new Map() };

/** Which job kinds a claim may take: all, only some, all but some — or none (everything held). */
export type KindFilter = { only: string[] } | { except: string[] } | null;

export function gateOf(plan: GatePlan, kind: string): DeliveryGate {
  return plan.byKind.get(kind) ?? plan.all;
}

/**
 * Held jobs are not claimed at all (claiming them would take a lease and bump attempts). A held
 * job also keeps later jobs with the same key waiting, so per-key order holds across flows.
 */
export function claimFilter(plan: GatePlan): KindFilter | 'hold' {
  const entries = [...plan.byKind];
  if (plan.all === 'hold') {
    const only = entries.filter(([, g]) => g !== 'hold').map(([k]) => k);
    return only.length > 0 ? { only } : 'hold';
  }
  const except = entries.filter(([, g]) => g === 'hold').map(([k]) => k);
  return except.length > 0 ? { except } : null;
}
