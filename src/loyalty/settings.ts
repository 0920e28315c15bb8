import type { HearthConfig } from '../config/loader.ts';
import type { IdpTargetSource } from '../flows/identity-push.ts';

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
  /** Webhook targets and the events they subscribe to (`tier.changed`, `order.enriched`). */
  webhook_targets: { name: string; events: string[] }[];
  /** Identity providers that receive tier changes (the `connectors` config). */
  idp: IdpTargetSource;
  max_attempts: number;
}

export function loyaltySettings(config: HearthConfig): LoyaltySettings {
  const l = config.loyalty;
  return {
    points_per_unit: l.points_per_unit,
    tier_window_ms: l.tier_window_days * 86_400_000,
    tiers: l.tiers.map((t) => ({ name: t.name, min_spend_minor: Math.round(t.min_spend * 100) })).sort((a, b) => b.min_spend_minor - a.min_spend_minor),
    redemption_authority: l.redemption_authority,
    split_policy: l.split_policy,
    adjustment_alert_rate: l.adjustment_alert_rate,
    expire_after_ms: l.points_expire_days === null ? null : l.points_expire_days * 86_400_000,
    webhook_targets: (config.connectors.webhook?.targets ?? []).map((t) => ({ name: t.name, events: t.events })),
    idp: config.connectors as IdpTargetSource,
    max_attempts: config.jobs.max_attempts,
  };
}

export const DEFAULT_LOYALTY: LoyaltySettings = {
  points_per_unit: 1,
  tier_window_ms: 365 * 86_400_000,
  tiers: [{ name: 'gold', min_spend_minor: 150_000 }, { name: 'silver', min_spend_minor: 50_000 }, { name: 'member', min_spend_minor: 0 }],
  redemption_authority: 'any_opted_in',
  split_policy: 'stays_with_household',
  adjustment_alert_rate: 0.02,
  expire_after_ms: null,
  webhook_targets: [],
  idp: { idp_targets: [] },
  max_attempts: 8,
};
