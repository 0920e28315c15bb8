import type { BillingField, OwnedField } from '../canonical/fields.ts';

/**
 * Field -> sources allowed to set it, highest precedence first. Billing fields are listed when
 * config (or a descriptor) names their owners; absent, any billing system may set them.
 */
export type OwnershipPolicy = Record<OwnedField, string[]> & Partial<Record<BillingField, string[]>>;

export type OwnershipDecision = { allowed: true } | { allowed: false; reason: string };

/**
 * May `source` overwrite `field`, currently set by `currentSource`? A source not listed may never
 * set the field; a listed one may set an empty field, or overwrite a value that came from a
 * source of equal or lower precedence. Precedence, not recency, is the declared policy: a CRM
 * edit does not undo an address that checkout validated later, unless config says so.
 */
export function decideOwnership(
  policy: OwnershipPolicy,
  field: OwnedField | BillingField,
  source: string,
  currentSource: string | null,
  currentEmpty: boolean,
): OwnershipDecision {
  const ranking = policy[field];
  if (!ranking) return { allowed: true };
  const rank = ranking.indexOf(source);
  if (rank < 0) return { allowed: false, reason: `${source} may not set ${field}` };
  if (currentEmpty || currentSource === null) return { allowed: true };
  const currentRank = ranking.indexOf(currentSource);
  if (currentRank < 0 || rank <= currentRank) return { allowed: true };
  return { allowed: false, reason: `${field} is owned by ${currentSource}, which outranks ${source}` };
}
