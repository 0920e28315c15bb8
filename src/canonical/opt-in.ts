/** points_aggregation_opt_in as consent, whatever the CRM's field type. */

const YES = new Set(['true', '1', 'yes', 'y', 'on', 'checked']);

/** The opt-in property's value as consent: only an explicit yes counts (default false). */
export function parseOptIn(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value === 1;
  return typeof value === 'string' && YES.has(value.trim().toLowerCase());
}

/** The opt-in property written back to a CRM: string CRMs take it as text; a checkbox field accepts it too. */
export function optInValue(optIn: boolean): string {
  return optIn ? 'true' : 'false';
}
