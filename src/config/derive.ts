import type { IdpTargets } from '../canonical/fields.ts';
import { namesWith } from '../connectors/registry.ts';
import type { HouseholdEngineContext } from '../households/settings.ts';
import { DEFAULT_INGEST_MODEL, type IdentitySettings } from '../identity/ingest-model.ts';
import type { LoyaltySettings } from '../loyalty/settings.ts';
import type { HearthConfig } from './loader.ts';

// What each part needs, derived once from the validated config; nothing below reads config itself.

/** The configured connectors that receive household claims. */
export function idpTargetsOf(
  config: Pick<HearthConfig, 'descriptors' | 'connectors'> & {
    governance?: Pick<HearthConfig['governance'], 'minimisation'>;
  },
): IdpTargets {
  const connectors = config.connectors as Record<string, unknown>;
  const idp_targets = namesWith(config.descriptors, 'idp').filter(
    (n) => connectors[n] !== undefined && connectors[n] !== null,
  );
  // Data minimisation: an IdP whose allow-list leaves out the e-mail is pushed to by crosswalk id only.
  const lists = config.governance?.minimisation ?? {};
  const without = idp_targets.filter((n) => lists[n] !== undefined && !lists[n]!.includes('email'));
  return { idp_targets, ...(without.length > 0 ? { idp_without_email: without } : {}) };
}

/** Downstream webhook subscribers and the events each takes. */
export function subscribersOf(
  config: Pick<HearthConfig, 'connectors'>,
): { name: string; events: string[]; schema_version?: number }[] {
  return (config.connectors.webhook?.targets ?? []).map((t) => ({
    name: t.name,
    events: t.events,
    ...(t.schema_version ? { schema_version: t.schema_version } : {}),
  }));
}

export function loyaltySettings(config: HearthConfig): LoyaltySettings {
  const l = config.loyalty;
  return {
    points_per_unit: l.points_per_unit,
    tier_window_ms: l.tier_window_days * 86_400_000,
    tiers: l.tiers
      .map((t) => ({ name: t.name, min_spend_minor: Math.round(t.min_spend * 100) }))
      .sort((a, b) => b.min_spend_minor - a.min_spend_minor),
    redemption_authority: l.redemption_authority,
    split_policy: l.split_policy,
    adjustment_alert_rate: l.adjustment_alert_rate,
    expire_after_ms: l.points_expire_days === null ? null : l.points_expire_days * 86_400_000,
    webhook_targets: subscribersOf(config),
    idp: idpTargetsOf(config),
    max_attempts: config.jobs.max_attempts,
  };
}

/** The apply step's household settings; null when no CRM is the household source. */
export function householdEngineContext(config: HearthConfig): HouseholdEngineContext | null {
  const h = config.households;
  if (!h) return null;
  return { source: h.source, opt_in_property: h.opt_in_property, idp: idpTargetsOf(config) };
}

/** Identity matching at ingest; null when disabled. */
export function identitySettings(cfg: HearthConfig['identity']): IdentitySettings | null {
  if (!cfg.enabled) return null;
  return {
    auto_link: cfg.auto_link,
    review: cfg.review,
    default_country: cfg.default_country,
    model: DEFAULT_INGEST_MODEL,
  };
}
