import type { ClearableField, OwnedField } from '../canonical/fields.ts';
import type { PostalAddress } from '../address/types.ts';
import type { CustomersTable } from '../db/schema.ts';
import { ADDRESS_COLUMNS, addressColumns, normalizeEmail } from '../canonical/customer.ts';
import { decideOwnership, type OwnershipPolicy } from './ownership.ts';

/** Incoming person data from one source, with the address already keyed by address/. */
export interface IncomingContact {
  given_name?: string | null;
  family_name?: string | null;
  email?: string | null;
  phone?: string | null;
  address?: { value: PostalAddress; key: string; validated: boolean } | null;
  /** Fields the source emptied on purpose: a null there clears the field; any other null is "no value". */
  cleared?: readonly ClearableField[];
}

export interface FieldChange {
  field: string;
  old_value: string | null;
  new_value: string | null;
}

export interface ChangePlan {
  updates: Partial<CustomersTable>;
  log: FieldChange[];
  /** Fields the source tried to change but may not, with the reason (for metrics and debugging). */
  rejected: { field: OwnedField; reason: string }[];
  /** True when the delivery point changed (not just its spelling). */
  address_moved: boolean;
}

type Row = Pick<
  CustomersTable,
  'given_name' | 'family_name' | 'email' | 'phone' | 'address_key' | 'field_sources' | (typeof ADDRESS_COLUMNS)[number]
>;

const SCALARS = ['given_name', 'family_name', 'email', 'phone'] as const;

/**
 * Decides what an incoming record changes on the canonical customer under the ownership policy.
 * Pure: the caller writes `updates` and `log` in the same transaction as the event's jobs.
 */
export function planChanges(
  row: Row,
  incoming: IncomingContact,
  source: string,
  policy: OwnershipPolicy,
  now: number,
): ChangePlan {
  const sources = JSON.parse(row.field_sources) as Partial<Record<OwnedField, string>>;
  const plan: ChangePlan = { updates: {}, log: [], rejected: [], address_moved: false };
  for (const field of SCALARS) {
    const clear = incoming[field] === null && (incoming.cleared?.includes(field) ?? false);
    planScalar(plan, row, sources, field, incoming[field], clear, source, policy);
  }
  if (incoming.address) planAddress(plan, row, sources, incoming.address, source, policy, now);
  if (plan.log.length > 0) plan.updates.field_sources = JSON.stringify(sources);
  return plan;
}

function planScalar(
  plan: ChangePlan,
  row: Row,
  sources: Partial<Record<OwnedField, string>>,
  field: (typeof SCALARS)[number],
  value: string | null | undefined,
  clear: boolean,
  source: string,
  policy: OwnershipPolicy,
): void {
  const next = value?.trim() || null;
  // A null is "no value" (absent, unknown) unless the source says it emptied the field.
  if (next === null ? !clear || row[field] === null : same(field, row[field], next)) return;
  const decision = decideOwnership(policy, field, source, sources[field] ?? null, row[field] === null);
  if (!decision.allowed) {
    plan.rejected.push({ field, reason: decision.reason });
    return;
  }
  plan.updates[field] = next;
  if (field === 'email') plan.updates.email_normalized = next === null ? null : normalizeEmail(next);
  plan.log.push({ field, old_value: row[field], new_value: next });
  sources[field] = source;
}

function same(field: string, a: string | null, b: string): boolean {
  return field === 'email' ? normalizeEmail(a) === normalizeEmail(b) : a === b;
}

function planAddress(
  plan: ChangePlan,
  row: Row,
  sources: Partial<Record<OwnedField, string>>,
  incoming: NonNullable<IncomingContact['address']>,
  source: string,
  policy: OwnershipPolicy,
  now: number,
): void {
  const cols = addressColumns(incoming.value);
  const spellingChanged = ADDRESS_COLUMNS.some((c) => cols[c] !== row[c]);
  const moved = incoming.key !== row.address_key;
  if (!moved && !spellingChanged) return;
  const decision = decideOwnership(policy, 'address', source, sources.address ?? null, row.address_line1 === null);
  if (!decision.allowed) {
    plan.rejected.push({ field: 'address', reason: decision.reason });
    return;
  }
  // A new spelling of the same delivery point is not a correction: keep the record as it is
  // unless the source outranks the one that wrote it (then adopt its validated spelling quietly).
  if (!moved && sources.address === source) return;
  for (const c of ADDRESS_COLUMNS) {
    if (cols[c] === row[c]) continue;
    plan.updates[c] = cols[c];
    plan.log.push({ field: c, old_value: row[c], new_value: cols[c] });
  }
  plan.updates.address_key = incoming.key;
  plan.updates.address_source = source;
  if (incoming.validated) plan.updates.address_validated_at = now;
  plan.address_moved = moved;
  sources.address = source;
}
