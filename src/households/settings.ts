import type { HearthConfig } from '../config/loader.ts';
import type { HouseholdEngineContext } from '../flows/context.ts';

/** The apply step's household settings from config; null when no CRM is the household source. */
export function householdEngineContext(config: HearthConfig): HouseholdEngineContext | null {
  const h = config.households;
  if (!h) return null;
  return { source: h.source, opt_in_property: h.opt_in_property, idp: config.connectors };
}
