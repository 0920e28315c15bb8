import type { OwnedField } from '../canonical/fields.ts';
import type { DriftKind, DriftStatus } from '../db/schema.ts';
import type { FieldComparison } from './compare.ts';

/** What reconciliation does with drift in a field: heal it through the outbox, queue it for review, or measure it. */
export const RECONCILE_POLICIES = ['heal', 'review', 'report'] as const;
export type ReconcilePolicy = (typeof RECONCILE_POLICIES)[number];
/** Defaults: the CRM write-back heals addresses; phones wait for an operator; the CRM owns names and email. */
export const DEFAULT_RECONCILE_POLICIES: Record<OwnedField, ReconcilePolicy> = {
  address: 'heal',
  phone: 'review',
  given_name: 'report',
  family_name: 'report',
  email: 'report',
};

export interface FindingDecision {
  kind: DriftKind;
  status: DriftStatus;
  /** Enqueue the corrective write now. */
  heal: boolean;
}

/** Fields with a corrective write: the address write-back, and the person-field write for phone and names. */
export const HEALABLE_FIELDS: readonly string[] = ['address', 'phone', 'given_name', 'family_name'];

/**
 * What a comparison becomes: nothing when equal; a format-only note (never healed); or drift
 * handled by the field's policy — heal (queued write), review (open for an operator), report.
 * `canHeal` is false for a system Hearth does not write to: its heal-policy drift waits for review.
 */
export function decideFinding(c: FieldComparison, policy: ReconcilePolicy, canHeal = true): FindingDecision | null {
  if (c.outcome === 'same') return null;
  if (c.outcome === 'format_only') return { kind: 'format_only', status: 'ignored', heal: false };
  if (policy === 'heal' && canHeal && HEALABLE_FIELDS.includes(c.field))
    return { kind: 'drift', status: 'healing', heal: true };
  if (policy === 'report') return { kind: 'drift', status: 'reported', heal: false };
  return { kind: 'drift', status: 'open', heal: false };
}
