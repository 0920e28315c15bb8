import { type Membership, type MembershipInput, sameMembership } from './membership-store.ts';

/** A customer's wanted membership with its household resolved to an `hh_` id; null: in none. */
export interface ResolvedWant {
  customer_id: string;
  next: MembershipInput | null;
}

/** What one want changed: the period it closed and/or the one it opened (neither: unchanged). */
export interface PlannedChange {
  customer_id: string;
  closed?: Membership;
  opened?: Membership;
}

/** A period to insert and the CRM it came from. */
export interface NewPeriod {
  period: Membership;
  source_system: string;
}

export interface MembershipPlan {
  /** One entry per want, in order: its change, or null when the membership already was that. */
  changes: (PlannedChange | null)[];
  /** Customers whose stored open period closes at `now`. */
  close: string[];
  /** New periods in order; one superseded later in the same batch is inserted already closed. */
  insert: NewPeriod[];
  /** The open membership, once the batch is applied, of every customer it changed (undefined: left). */
  open: Map<string, Membership | undefined>;
}

/**
 * The membership timeline changes of a batch, pure: the same rules as `setMembership` applied to
 * each want in order (unchanged household, role and consent: nothing; else the open period closes
 * at `now` and, unless the customer left, a new one opens), against the stored open periods.
 */
export function planMemberships(
  stored: ReadonlyMap<string, Membership>,
  wants: readonly ResolvedWant[],
  now: number,
): MembershipPlan {
  const open = new Map<string, Membership | undefined>();
  const openOf = (id: string) => (open.has(id) ? open.get(id) : stored.get(id));
  // The insert of a period opened earlier in this batch, to close it in memory if it is superseded.
  const pending = new Map<string, NewPeriod>();
  const close = new Set<string>();
  const insert: NewPeriod[] = [];
  const changes = wants.map(({ customer_id: id, next }): PlannedChange | null => {
    const current = openOf(id);
    if (!current && !next) return null;
    if (sameMembership(current, next)) return null;
    let closed: Membership | undefined;
    if (current) {
      closed = { ...current, valid_to: now };
      const mine = pending.get(id);
      if (mine) mine.period = { ...mine.period, valid_to: now };
      else close.add(id);
    }
    pending.delete(id);
    if (!next) {
      open.set(id, undefined);
      return { customer_id: id, closed: closed! };
    }
    const opened: Membership = {
      household_id: next.household_id,
      customer_id: id,
      role: next.role,
      points_aggregation_opt_in: next.opt_in,
      valid_from: now,
      valid_to: null,
    };
    const row = { period: opened, source_system: next.source_system };
    insert.push(row);
    pending.set(id, row);
    open.set(id, opened);
    return closed ? { customer_id: id, closed, opened } : { customer_id: id, opened };
  });
  return { changes, close: [...close], insert, open };
}

/**
 * The open members of these households once the plan is applied, from their open members
 * before it (every household a change closed or opened a period in must be among them).
 */
export function membersAfter(
  before: ReadonlyMap<string, readonly Membership[]>,
  plan: Pick<MembershipPlan, 'open'>,
): Map<string, Membership[]> {
  const out = new Map<string, Map<string, Membership>>();
  for (const [hh, ms] of before) out.set(hh, new Map(ms.map((m) => [m.customer_id, m])));
  for (const byCustomer of out.values()) for (const id of plan.open.keys()) byCustomer.delete(id);
  for (const [id, m] of plan.open) if (m) out.get(m.household_id)?.set(id, m);
  return new Map(
    [...out].map(([hh, ms]) => [hh, [...ms.values()].sort((a, b) => (a.customer_id < b.customer_id ? -1 : 1))]),
  );
}
