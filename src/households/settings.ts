import type { HearthConfig } from '../config.ts';
import type { HouseholdEngineContext } from '../sync/context.ts';

/** The apply step's household settings from config; null when no CRM is the household source. */
export function householdEngineContext(config: HearthConfig): HouseholdEngineContext | null {
  const h = config.households;
  if (!h) return null;
  return { source: h.source, opt_in_property: h.opt_in_property, idp: config.connectors };
}
