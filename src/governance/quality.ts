import type { PostalAddress } from '../address/types.ts';
import { checkPlausibility } from '../address/plausibility.ts';
import { toE164 } from '../canonical/phone.ts';
import type { QualityRule } from './quality-schema.ts';

export type QualityField = QualityRule['field'];

/** A value as the rules see it: a string, an address, or null for a field cleared. */
export type FieldValue = string | PostalAddress | null;

export interface Violation {
  rule: string;
  field: QualityField;
  reason: string;
  action: QualityRule['action'];
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * The value rules (required, format, allowed, plausible) that an incoming value breaks, pure.
 * Fields the change does not carry (`undefined`) are not checked; rate rules are counted apart.
 */
export function checkValue(
  rules: readonly QualityRule[],
  field: QualityField,
  value: FieldValue | undefined,
): Violation[] {
  if (value === undefined) return [];
  const out: Violation[] = [];
  for (const r of rules) {
    if (r.field !== field || r.check === 'max_change_rate') continue;
    const problem = problemOf(r, value);
    if (problem) out.push({ rule: r.name, field, reason: problem, action: r.action });
  }
  return out;
}

function problemOf(r: QualityRule, value: FieldValue): string | null {
  const text = value === null ? '' : typeof value === 'string' ? value.trim() : value.line1;
  if (r.check === 'required') return text === '' ? `${r.field} is required and would be cleared` : null;
  if (text === '') return null;
  if (r.check === 'format')
    return new RegExp(`^(?:${r.pattern})$`).test(text) ? null : `${r.field} does not match ${r.pattern}`;
  if (r.check === 'allowed')
    return r.values!.includes(text) ? null : `${r.field} is not one of ${r.values!.join(', ')}`;
  if (r.check === 'plausible') return implausible(r.field, value!);
  return null;
}

function implausible(field: QualityField, value: string | PostalAddress): string | null {
  if (field === 'address' && typeof value === 'object') {
    const v = checkPlausibility(value);
    return v.ok ? null : `address implausible: ${v.reason}`;
  }
  const text = String(value).trim();
  if (field === 'email') return EMAIL.test(text) ? null : 'email is not an address';
  if (field === 'phone') return toE164(text, 'US').startsWith('+') ? null : 'phone is not a possible number';
  return /\p{L}/u.test(text) ? null : `${field} has no letters`;
}

/**
 * Rate rules tripped by one source: `changed` customers of `field` in the window out of `total`.
 * More than `max_rate` of them (with at least `min_changes`) breaks the rule.
 */
export function rateViolation(rule: QualityRule, changed: number, total: number): Violation | null {
  if (rule.check !== 'max_change_rate' || changed < rule.min_changes || total === 0) return null;
  const rate = changed / total;
  if (rate <= rule.max_rate!) return null;
  const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
  return {
    rule: rule.name,
    field: rule.field,
    reason:
      `${changed} of ${total} customers (${pct(rate)}) changed ${rule.field} within ${rule.window_minutes} min; ` +
      `the limit is ${pct(rule.max_rate!)}`,
    action: rule.action,
  };
}

/**
 * Reconciliation: the value a heal would write (the canonical one) checked against the value rules.
 * A breaking value is not written to the system; the finding waits for review. Null when none breaks.
 */
export function healViolation(
  rules: readonly QualityRule[],
  field: string,
  canonical: { scalar: string | null } | { address: PostalAddress | null },
): Violation | null {
  if (!(['given_name', 'family_name', 'email', 'phone', 'address'] as string[]).includes(field)) return null;
  const value = 'address' in canonical ? canonical.address : canonical.scalar;
  return checkValue(rules, field as QualityField, value)[0] ?? null;
}
