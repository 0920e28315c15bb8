import type { HierarchyRole } from '../db/schema.ts';

/** Job kind of a push of household claims to an identity provider. */
export const IDP_PUSH_KIND = 'idp.claims_push';

/** Household context of one customer as identity tokens carry it (nulls when no household). */
export interface IdentityClaims {
  household_id: string | null;
  hierarchy_role: HierarchyRole | null;
  points_aggregation_opt_in: boolean;
  tier: string | null;
}

/** Payload of `idp.claims_push`: the claims at the time of the change, for one customer. */
export interface IdentityPushPayload {
  customer_id: string;
  /** The IdP user id from the crosswalk, or null to find the user by email. */
  external_id: string | null;
  email: string | null;
  claims: IdentityClaims;
  /** When the change happened (start of the sync window). */
  changed_at: number;
}

/** What a connector does when no IdP user matches: skip (the customer has no login) or fail (dead letter). */
export type MissingUserPolicy = 'skip' | 'fail';

/** Claims as flat strings (crosswalk snapshot, echo fingerprints, Keycloak attributes). */
export function flatClaims(c: IdentityClaims): Record<string, string | null> {
  return {
    household_id: c.household_id,
    hierarchy_role: c.hierarchy_role,
    points_aggregation_opt_in: String(c.points_aggregation_opt_in),
    tier: c.tier,
  };
}
