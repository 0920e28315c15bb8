/** The job kind that asks a connected system to delete (or anonymise) one person. */
export const ERASURE_KIND = 'erasure.delete';

/**
 * Payload of an erasure job. `external_ids` are the system's record ids from the crosswalk;
 * `email` lets systems that find people by e-mail (IdPs, a CRM without a link) find them. The
 * payload is blanked once the job is done (governance/retention.ts).
 */
export interface ErasurePayload {
  erasure_id: string;
  customer_id: string;
  external_ids: string[];
  email: string | null;
}
