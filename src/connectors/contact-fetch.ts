import { HearthError } from '../errors.ts';
import type { ConnectorId, ContactSource, DeliveryResult, FailureKind, OutboundJob } from '../canonical/types.ts';

/** Job kind: read one contact from a CRM and feed it into the inbox as a `contact.updated`. */
export const CONTACT_FETCH = 'crm.contact_fetch';

export interface ContactFetchPayload {
  external_id: string;
  /** Vendor properties to read besides the standard ones (the household opt-in property). */
  extra_properties: string[];
}

/**
 * Delivers fetch jobs: each reads its contact and succeeds with the contact as an inbound event
 * (delivery id `fetch:<job id>`, so a re-run fetch is not applied twice). A contact the CRM does
 * not have is `not_found` (dead letter, visible); read failures keep the neutral kind, so the
 * outbox retries them like any write.
 */
export async function deliverContactFetches(
  system: ConnectorId,
  source: ContactSource,
  jobs: OutboundJob[],
  now: () => number,
): Promise<DeliveryResult[]> {
  const results: DeliveryResult[] = [];
  for (const job of jobs) results.push(await fetchOne(system, source, job as OutboundJob<ContactFetchPayload>, now));
  return results;
}

async function fetchOne(
  system: ConnectorId,
  source: ContactSource,
  job: OutboundJob<ContactFetchPayload>,
  now: () => number,
): Promise<DeliveryResult> {
  if (!source.getContact) return { ok: false, kind: 'invalid', message: `${system} cannot read one contact` };
  try {
    const c = await source.getContact(job.payload.external_id, { extra_properties: job.payload.extra_properties });
    if (!c) return { ok: false, kind: 'not_found', message: `${system} has no contact ${job.payload.external_id}` };
    const event = {
      type: 'contact.updated' as const,
      source: system,
      external_id: c.external_id,
      contact: c.contact,
      vendor_fields: c.properties,
      origin_is_hearth: false,
      occurred_at: c.updated_at ?? now(),
    };
    return { ok: true, inbound: [{ delivery_id: `fetch:${job.id}`, event }] };
  } catch (err) {
    if (!(err instanceof HearthError))
      return { ok: false, kind: 'unknown', message: (err as Error).message ?? String(err) };
    const d = err.details ?? {};
    const kind = (
      typeof d.kind === 'string' ? d.kind : err.code === 'bad_request' ? 'invalid' : 'unknown'
    ) as FailureKind;
    return {
      ok: false,
      kind,
      message: err.message,
      ...(typeof d.retry_after_ms === 'number' ? { retry_after_ms: d.retry_after_ms } : {}),
    };
  }
}
