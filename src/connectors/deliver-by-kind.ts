import type { DeliveryResult, OutboundJob } from '../canonical/types.ts';

export type KindHandler = (jobs: OutboundJob[]) => Promise<DeliveryResult[]>;

/**
 * A claimed batch may mix job kinds (the claim is per target, not per kind): each kind's jobs go
 * to its handler as one batch, and the results come back in the batch's order. A kind with no
 * handler is `invalid` (dead-lettered at once, visible to an operator).
 */
export async function deliverByKind(
  jobs: OutboundJob[],
  handlers: Record<string, KindHandler>,
): Promise<DeliveryResult[]> {
  const results: DeliveryResult[] = new Array(jobs.length);
  const byKind = new Map<string, number[]>();
  jobs.forEach((j, i) => byKind.set(j.kind, [...(byKind.get(j.kind) ?? []), i]));
  for (const [kind, idx] of byKind) {
    const handler = handlers[kind];
    const out = handler
      ? await handler(idx.map((i) => jobs[i]!))
      : idx.map(() => ({ ok: false as const, kind: 'invalid' as const, message: `no delivery for job kind ${kind}` }));
    idx.forEach((i, k) => {
      results[i] = out[k] ?? { ok: false, kind: 'unknown', message: 'connector returned no result' };
    });
  }
  return results;
}
