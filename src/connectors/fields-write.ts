import type { OutboundJob } from '../canonical/types.ts';

/** Job kind: write a contact's person fields (reconciliation heals a drifted phone or name). */
export const FIELDS_WRITE = 'crm.fields_write';

/** Canonical person fields a CRM write can correct (email is an identity key: never rewritten). */
export const WRITABLE_FIELDS = ['given_name', 'family_name', 'phone'] as const;
export type WritableField = (typeof WRITABLE_FIELDS)[number];

export interface FieldsWritePayload {
  customer_id: string;
  external_id: string;
  fields: Partial<Record<WritableField, string | null>>;
}

/** The vendor's property values for a fields write, through the connector's field names. */
export function vendorValues(
  job: OutboundJob,
  names: Record<WritableField, string>,
): { external_id: string; written: Record<string, string | null> } {
  const p = job.payload as FieldsWritePayload;
  const written: Record<string, string | null> = {};
  for (const f of WRITABLE_FIELDS) if (f in p.fields) written[names[f]] = p.fields[f] ?? null;
  return { external_id: p.external_id, written };
}
