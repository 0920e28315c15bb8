import type { IdpTargets } from '../canonical/fields.ts';

/** What the apply step needs to keep household membership in step with the CRM. */
export interface HouseholdEngineContext {
  /** The CRM that is the authority for households. */
  source: string;
  /** Its contact property holding the points-aggregation opt-in. */
  opt_in_property: string;
  /** Where identity-provider pushes go (the configured connectors). */
  idp: IdpTargets;
}
