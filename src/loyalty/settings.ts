import type { IdpTargets } from '../canonical/fields.ts';

export interface TierRule {
  name: string;
  /** Minimum qualifying spend in minor units (cents). */
  min_spend_minor: number;
}

/** What the ledger, tiers and enrichment need from config, derived once. */
export interface LoyaltySettings {
  points_per_unit: number;
  tier_window_ms: number;
  /** Highest first. */
  tiers: TierRule[];
  redemption_authority: 'any_opted_in' | 'head_only';
  split_policy: 'stays_with_household' | 'member_takes_share';
  adjustment_alert_rate: number;
  /** Earned points expire this long after the order; null: never. */
  expire_after_ms: number | null;
  /** Webhook targets, the events they subscribe to (`tier.changed`, `order.enriched`), their pinned version. */
  webhook_targets: { name: string; events: string[]; schema_version?: number }[];
  /** Identity providers that receive tier changes. */
  idp: IdpTargets;
  max_attempts: number;
}

export const DEFAULT_LOYALTY: LoyaltySettings = {
  points_per_unit: 1,
  tier_window_ms: 365 * 86_400_000,
  tiers: [
    { name: 'gold', min_spend_minor: 150_000 },
    { name: 'silver', min_spend_minor: 50_000 },
    { name: 'member', min_spend_minor: 0 },
  ],
  redemption_authority: 'any_opted_in',
  split_policy: 'stays_with_household',
  adjustment_alert_rate: 0.02,
  expire_after_ms: null,
  webhook_targets: [],
  idp: { idp_targets: [] },
  max_attempts: 8,
};
