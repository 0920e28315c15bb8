/** Canonical customer fields whose writers are governed by the ownership policy. */
export const OWNED_FIELDS = ['given_name', 'family_name', 'email', 'phone', 'address'] as const;
export type OwnedField = (typeof OWNED_FIELDS)[number];

/** The single-value person fields a source can clear (empty) on purpose. */
export const CLEARABLE_FIELDS = ['given_name', 'family_name', 'email', 'phone'] as const;
export type ClearableField = (typeof CLEARABLE_FIELDS)[number];

/**
 * Billing fields: who may set them is ownership config too (`billing_address: [stripe]`); they are
 * projected to every system that reads the customer view (support reads billing status, never sets it).
 */
export const BILLING_FIELDS = ['billing_address', 'billing_status', 'subscriptions'] as const;
export type BillingField = (typeof BILLING_FIELDS)[number];

/** The writer name of changes made through Hearth's own API (it ranks in ownership like a system). */
export const API_WRITER = 'api';

/** Job target of a downstream webhook subscriber (`webhook:<name>`): one ordered queue per subscriber. */
export function subscriberTarget(name: string): string {
  return `webhook:${name}`;
}

/** The connector a job target belongs to: the target itself, or `webhook` for `webhook:<name>`. */
export function connectorOfTarget(target: string): string {
  const colon = target.indexOf(':');
  return colon === -1 ? target : target.slice(0, colon);
}

/** The identity providers that receive household claims (the configured connectors with that capability). */
export interface IdpTargets {
  idp_targets: readonly string[];
  /** IdPs whose `governance.minimisation` leaves out `email`: their pushes carry none (crosswalk id only). */
  idp_without_email?: readonly string[];
}
