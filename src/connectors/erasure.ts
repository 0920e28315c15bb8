import { ERASURE_KIND, type ErasurePayload } from '../canonical/erasure.ts';
import type { Connector, DeliveryResult, OutboundJob } from '../canonical/types.ts';
import { deliverByKind } from './deliver-by-kind.ts';

/** Delivers erasure jobs (one result per job, in order; never throws for vendor errors). */
export type Eraser = (jobs: OutboundJob<ErasurePayload>[]) => Promise<DeliveryResult[]>;

/** What a system answers for deleting one record: gone (or already gone), or a failure to retry or report. */
export type DeleteOutcome = { ok: true } | Extract<DeliveryResult, { ok: false }>;

/**
 * The usual eraser: every record id the crosswalk knows is deleted; with none, `find` (when the
 * system can search by e-mail) names the records to delete. A record already gone (404) counts as
 * erased: a retry after a lost answer must not fail. A 429 stops the batch: the rest wait for it.
 */
export function eraseEach(
  remove: (externalId: string) => Promise<DeleteOutcome>,
  find?: (email: string) => Promise<{ ok: true; ids: string[] } | Extract<DeliveryResult, { ok: false }>>,
): Eraser {
  return async (jobs) => {
    const results: DeliveryResult[] = [];
    let limited: Extract<DeliveryResult, { ok: false }> | null = null;
    for (const job of jobs) {
      const r: DeliveryResult = limited ?? (await eraseOne(job.payload, remove, find));
      if (!r.ok && r.kind === 'rate_limited') limited = r;
      results.push(r);
    }
    return results;
  };
}

async function eraseOne(
  p: ErasurePayload,
  remove: (externalId: string) => Promise<DeleteOutcome>,
  find?: (email: string) => Promise<{ ok: true; ids: string[] } | Extract<DeliveryResult, { ok: false }>>,
): Promise<DeliveryResult> {
  let ids = p.external_ids;
  if (ids.length === 0 && p.email && find) {
    const found = await find(p.email);
    if (!found.ok) return found;
    ids = found.ids;
  }
  for (const id of ids) {
    const r = await remove(id);
    if (!r.ok && r.kind !== 'not_found') return r;
  }
  // No external_id: the crosswalk must not learn a link to a record just deleted.
  return { ok: true };
}

/**
 * A connector that also delivers erasure jobs: `erasure.delete` goes to the eraser, every other
 * kind to the connector as before. A connector with no outbound side (none today) gets one.
 */
export function withEraser(c: Connector, eraser: Eraser): Connector {
  const outbound = c.outbound;
  const others = outbound
    ? Object.fromEntries(outbound.kinds.map((k) => [k, (js: OutboundJob[]) => outbound.deliver(js)]))
    : {};
  const expected = outbound?.expectedWrites;
  const ready = outbound?.ready;
  return {
    ...c,
    outbound: {
      kinds: [...(outbound?.kinds ?? []), ERASURE_KIND],
      deliver: (jobs) =>
        deliverByKind(jobs, { ...others, [ERASURE_KIND]: (js) => eraser(js as OutboundJob<ErasurePayload>[]) }),
      ...(expected
        ? { expectedWrites: (job: OutboundJob) => (job.kind === ERASURE_KIND ? null : expected.call(outbound, job)) }
        : {}),
      ...(ready ? { ready: () => ready.call(outbound) } : {}),
    },
  };
}
