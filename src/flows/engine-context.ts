import { normalizeAddress } from '../address/index.ts';
import { householdEngineContext, identitySettings, loyaltySettings, subscribersOf } from '../config/derive.ts';
import type { HearthConfig } from '../config/loader.ts';
import type { ConnectorRegistry } from '../connectors/registry.ts';
import { PROFILE_PROJECT } from '../canonical/types.ts';
import type { EngineContext } from './context.ts';

/** What the apply flows need, derived once from config and the live connectors. */
export function engineContext(config: HearthConfig, connectors: ConnectorRegistry = {}): EngineContext {
  return {
    contactFromFields: (system, fields) => connectors[system]?.ingress?.contactFromFields?.(fields) ?? null,
    policy: config.ownership,
    writeback_crm: config.writeback.crm,
    webhook_targets: subscribersOf(config),
    max_attempts: config.jobs.max_attempts,
    keyAddress: (a) => normalizeAddress(a).key,
    households: householdEngineContext(config),
    identity: identitySettings(config.identity),
    loyalty: loyaltySettings(config),
    plausibility: config.addresses.plausibility,
    minimisation: config.governance?.minimisation ?? {},
    projection_targets: Object.values(connectors)
      .filter((c) => c?.outbound?.kinds.includes(PROFILE_PROJECT))
      .map((c) => c!.id),
  };
}
