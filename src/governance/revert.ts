import { ADDRESS_COLUMNS } from '../canonical/customer.ts';
import type { ChangeLogTable } from '../db/schema.ts';

/** What a steward asks to undo: one field change, one event, a source, or a window for some customers. */
export type RevertSelector =
  | { change: string }
  | { event: string }
  | { source: string; since?: number | undefined; until?: number | undefined }
  | { customers: string[]; since: number; until?: number | undefined }
  /** The person-field heals a reconciliation run wrote to a system (written back to what it held). */
  | { run: string };

/** Canonical fields a revert can restore (the columns of a customer that the change log records). */
export const REVERTIBLE_FIELDS: readonly string[] = ['given_name', 'family_name', 'email', 'phone', ...ADDRESS_COLUMNS];

/** One field of one customer set back to the value it had before the selected changes. */
export interface RevertStep {
  customer_id: string;
  field: string;
  /** The value now (what the selected changes wrote). */
  from: string | null;
  /** The value before the first selected change. */
  to: string | null;
  /** The source that held the field before (ownership returns to it). */
  restore_source: string | null;
  reverted: string[];
}

/** A selected change that a newer change has since overwritten: reverting it would lose that change. */
export interface RevertConflict {
  customer_id: string;
  field: string;
  reverting: string;
  newer: { id: string; source_system: string; actor: string; changed_at: number; new_value: string | null };
}

export interface RevertPlan {
  steps: RevertStep[];
  conflicts: RevertConflict[];
  /** Selected changes of fields a revert cannot restore (e.g. points), listed and left alone. */
  unsupported: { id: string; field: string }[];
}

type Change = Pick<
  ChangeLogTable,
  'id' | 'customer_id' | 'field' | 'old_value' | 'new_value' | 'source_system' | 'actor' | 'changed_at'
>;

const isAddress = (field: string) => (ADDRESS_COLUMNS as readonly string[]).includes(field);
/** Address columns move together: a newer change to any of them conflicts with reverting any of them. */
const groupOf = (field: string) => (isAddress(field) ? 'address' : field);
const order = (a: Change, b: Change) => a.changed_at - b.changed_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Plans a revert, pure: `selected` are the changes to undo, `history` every change of the same
 * customers (selected ones included, any order), `current` the customers' values now. Each field
 * goes back to the value before the first selected change, unless a change that is not selected
 * came after the last selected one (the newer value is kept, the revert reports the conflict).
 */
export function planRevert(
  selected: readonly Change[],
  history: readonly Change[],
  current: ReadonlyMap<string, Record<string, string | null>>,
): RevertPlan {
  const plan: RevertPlan = { steps: [], conflicts: [], unsupported: [] };
  const chosen = new Set(selected.map((c) => c.id));
  const byField = new Map<string, Change[]>();
  for (const c of [...selected].sort(order)) {
    if (!REVERTIBLE_FIELDS.includes(c.field)) {
      plan.unsupported.push({ id: c.id, field: c.field });
      continue;
    }
    const key = `${c.customer_id}\u0000${c.field}`;
    byField.set(key, [...(byField.get(key) ?? []), c]);
  }
  const sortedHistory = [...history].sort(order);
  const conflicted = new Set<string>();
  for (const changes of byField.values()) {
    const first = changes[0]!;
    const last = changes.at(-1)!;
    const group = groupOf(first.field);
    const newer = sortedHistory.find(
      (h) =>
        h.customer_id === first.customer_id && groupOf(h.field) === group && !chosen.has(h.id) && order(h, last) > 0,
    );
    if (newer) {
      const key = `${first.customer_id}\u0000${group}`;
      if (conflicted.has(key)) continue;
      conflicted.add(key);
      plan.conflicts.push({
        customer_id: first.customer_id,
        field: group,
        reverting: last.id,
        newer: {
          id: newer.id,
          source_system: newer.source_system,
          actor: newer.actor,
          changed_at: newer.changed_at,
          new_value: newer.new_value,
        },
      });
      continue;
    }
    const before = sortedHistory.filter(
      (h) => h.customer_id === first.customer_id && h.field === first.field && order(h, first) < 0,
    );
    const now = current.get(first.customer_id)?.[first.field] ?? null;
    plan.steps.push({
      customer_id: first.customer_id,
      field: first.field,
      from: now,
      to: first.old_value,
      restore_source: before.at(-1)?.source_system ?? null,
      reverted: changes.map((c) => c.id),
    });
  }
  // An address goes back whole: a conflict on one column holds back the other columns too.
  plan.steps = plan.steps.filter(
    (s) => !conflicted.has(`${s.customer_id}\u0000${groupOf(s.field)}`) && s.from !== s.to,
  );
  return plan;
}

/** Is a selector well formed? Returns the problem, or null. */
export function selectorProblem(s: Record<string, unknown>): string | null {
  const kinds = ['change', 'event', 'source', 'customers', 'run'].filter((k) => s[k] !== undefined);
  if (kinds.length !== 1) return 'name exactly one of change, event, source, customers, run';
  if (kinds[0] === 'customers') {
    if (!Array.isArray(s.customers) || s.customers.length === 0) return 'customers must list at least one id';
    if (typeof s.since !== 'number') return 'a window for customers needs since';
  }
  if (typeof s.since === 'number' && typeof s.until === 'number' && s.until < s.since) return 'until is before since';
  return null;
}
