import type { PostalAddress } from '../address/types.ts';
import type { OwnershipPolicy } from '../customers/ownership.ts';
import type { CanonicalContact } from '../connectors/types.ts';

/** What the apply flows need to know, derived once from config. */
export interface EngineContext {
  policy: OwnershipPolicy;
  /** The CRM that receives address write-backs, if any. */
  writeback_crm: string | null;
  webhook_targets: { name: string; events: string[] }[];
  max_attempts: number;
  /** The delivery-point key of an address (from address/). */
  keyAddress(address: PostalAddress): string;
  /** The connector's mapping of accumulated vendor properties to a contact, if it has one. */
  contactFromFields(system: string, fields: Record<string, string | null>): CanonicalContact | null;
}

export type ApplyStatus = 'applied' | 'ignored' | 'echo';

export interface ApplyOutcome {
  status: ApplyStatus;
  customer_id?: string;
  jobs: number;
  rejected: { field: string; reason: string }[];
}
