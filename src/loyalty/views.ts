import type { LedgerEntry } from './ledger-store.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

/** The public (snake_case) shape of a ledger entry; times as ISO-8601, spend in major units. */
export function entryView(e: LedgerEntry) {
  return {
    id: e.id,
    kind: e.kind,
    account_id: e.account_id,
    customer_id: e.customer_id,
    household_id: e.household_id,
    points: Number(e.points),
    spend: Number(e.spend_minor) / 100,
    currency: e.currency,
    order_id: e.order_ref,
    order_name: e.order_name,
    ref_entry_id: e.ref_entry_id,
    source: e.source,
    actor: e.actor,
    reason: e.reason,
    idempotency_key: e.idempotency_key,
    occurred_at: iso(Number(e.occurred_at)),
    created_at: iso(Number(e.created_at)),
  };
}
