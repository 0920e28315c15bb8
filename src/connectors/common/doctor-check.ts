// The shapes of `hearth doctor` findings (imported by the descriptor type; no imports of its own).

export type CheckName = 'reachable' | 'credentials' | 'scopes' | 'properties' | 'labels' | 'webhooks' | 'clock';
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** One finding of `hearth doctor`: what was checked, how it went, and what to do about it. */
export interface DoctorCheck {
  connector: string;
  check: CheckName;
  status: CheckStatus;
  detail: string;
  fix: string | null;
}

/** The config's `households` labels (HubSpot association labels that make a head or a member). */
export interface HouseholdModel {
  hubspot_mode: 'company' | 'contact_labels';
  head_labels: readonly string[];
  member_labels: readonly string[];
}

/** What the checks need to know about the rest of the config. */
export interface DoctorContext {
  opt_in_property: string;
  /** The connector is the household source (its household fields matter). */
  household_source: string | null;
  /** How the household source models households (HubSpot: companies or labelled contact pairs, and the labels). */
  households?: HouseholdModel | undefined;
  /** `hearth doctor --fix`: create what can be created (HubSpot's opt-in property) instead of only reporting it. */
  fix?: boolean;
}
