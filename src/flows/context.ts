import type { PostalAddress } from '../address/types.ts';
import type { PlausibilityRules } from '../address/plausibility.ts';
import type { OwnershipPolicy } from '../customers/ownership.ts';
import type { CanonicalContact } from '../canonical/types.ts';
import type { IdentitySettings } from '../identity/ingest-model.ts';
import type { LoyaltySettings } from '../loyalty/settings.ts';
import type { HouseholdEngineContext } from '../households/settings.ts';

export type { HouseholdEngineContext };

/** What the apply flows need to know, derived once from config. */
export interface EngineContext {
  policy: OwnershipPolicy;
  /** The CRM that receives address write-backs, if any. */
  writeback_crm: string | null;
  /** Each with its pinned event schema version (absent: the latest). */
  webhook_targets: { name: string; events: string[]; schema_version?: number }[];
  max_attempts: number;
  /** The delivery-point key of an address (from address/). */
  keyAddress(address: PostalAddress): string;
  /** The connector's mapping of accumulated vendor properties to a contact, if it has one. */
  contactFromFields(system: string, fields: Record<string, string | null>): CanonicalContact | null;
  /** Household settings (config `households`); absent or null when households are not read. */
  households?: HouseholdEngineContext | null;
  /** Identity matching of new source records at ingest (config `identity`); null when disabled. */
  identity?: IdentitySettings | null;
  /** Systems that read the customer view (`profile.project` jobs): billing, support. */
  projection_targets?: readonly string[];
  /** Points, tiers and their events (config `loyalty`). */
  loyalty: LoyaltySettings;
  /** Which plausibility rules quarantine a checkout address (config `addresses.plausibility`); default all. */
  plausibility?: PlausibilityRules;
  /** Per connector, the person fields that may leave Hearth to it (config `governance.minimisation`). */
  minimisation?: Readonly<Record<string, readonly string[]>>;
}

export type { ApplyOutcome, ApplyStatus } from '../engine/apply-loop.ts';
