import type { Kysely } from 'kysely';
import type { CanonicalEvent } from '../canonical/types.ts';
import { normalizeEmail } from '../canonical/customer.ts';
import type { CustomersTable, Database } from '../db/schema.ts';
import { newId } from '../ids.ts';
import type { Enrichment } from '../loyalty/enrichment.ts';
import { basisInBatch, earnInBatch, enrichmentInBatch, tierChangesInBatch } from '../loyalty/order-batch.ts';
import { loadBatchLedger, type LedgerWrites, writeLedgerWrites } from '../loyalty/order-batch-store.ts';
import { reverseOrder, type OrderFacts } from '../loyalty/order-ledger.ts';
import type { TierBasis } from '../loyalty/tier-store.ts';
import { shapeEvent } from '../connectors/webhook/versions.ts';
import type { LoyaltySettings } from '../loyalty/settings.ts';
import { identityPushesRead, reevaluateTiers, tierChangeJobs } from './tiers.ts';
import { lastOrderedTask, resolveCustomer, updateCustomer, type BatchState } from './batch-state.ts';
import type { ApplyOutcome, EngineContext } from './context.ts';
import { enqueueJobs, type NewJob } from '../engine/jobs.ts';

type OrderPlaced = Extract<CanonicalEvent, { type: 'order.placed' }>;
type OrderReversed = Extract<CanonicalEvent, { type: 'order.reversed' }>;

/** Loyalty settings for the apply step (derived once from config into the engine context). */
function settingsFor(ctx: EngineContext): LoyaltySettings {
  return ctx.loyalty;
}

/**
 * The storefront took an order: find the customer (crosswalk, email, else new), then — in the
 * apply transaction, after the batch's rows are written — earn its points under the membership
 * in force when it was placed, re-evaluate the tiers of the whole household, and forward the
 * order enriched with household and tier to the `order.enriched` webhook subscribers.
 */
export function applyOrderPlaced(
  state: BatchState,
  ctx: EngineContext,
  ev: OrderPlaced,
  eventId: string,
  now: number,
): ApplyOutcome {
  if (!ev.external_id && !normalizeEmail(ev.contact.email)) return { status: 'ignored', jobs: 0, rejected: [] };
  const customer = resolveCustomer(state, ev.source, ev.external_id, ev.contact.email, now);
  fillNewCustomer(state, customer, ev, eventId, now);
  queueEarn(state, settingsFor(ctx), { ev, eventId, customer_id: customer.id, email: customer.email }, now);
  return { status: 'applied', customer_id: customer.id, jobs: 0, rejected: [] };
}

/** A cancellation or refund: reverse the order's points and re-evaluate tiers, in the apply transaction. */
export function applyOrderReversed(
  state: BatchState,
  ctx: EngineContext,
  ev: OrderReversed,
  eventId: string,
  now: number,
): ApplyOutcome {
  const s = settingsFor(ctx);
  state.deferred.push(async (trx) => {
    const entry = await reverseOrder(
      trx,
      {
        source: ev.source,
        order_ref: ev.order_id,
        reason: ev.reason,
        refund_id: ev.refund_id,
        amount_minor: ev.amount_minor,
        occurred_at: ev.occurred_at,
      },
      now,
      { source: ev.source, actor: `connector:${ev.source}` },
    );
    if (entry?.customer_id)
      await reevaluateTiers(trx, [entry.customer_id], now, s, { source: ev.source, event_id: eventId });
  });
  return { status: 'applied', jobs: 0, rejected: [] };
}

/** A placed order waiting for the ledger work of its run. */
export interface PendingOrder {
  ev: OrderPlaced;
  eventId: string;
  customer_id: string;
  email: string | null;
}

interface OrderRun {
  orders: PendingOrder[];
  task: (trx: Kysely<Database>) => Promise<void>;
}

/** The open run of orders of each batch: orders one after another share one deferred task. */
const runs = new WeakMap<BatchState, OrderRun>();

/**
 * Queues an order's ledger work. Orders that follow each other in the batch join one run (one
 * deferred task); any other deferred work in between (a reversal, a household change, a
 * projection) closes the run, so the batch's work keeps its order. A match review queued in
 * between does not: it touches nothing the ledger reads or writes.
 */
function queueEarn(state: BatchState, s: LoyaltySettings, p: PendingOrder, now: number): void {
  const run = runs.get(state);
  if (run && lastOrderedTask(state) === run.task) {
    run.orders.push(p);
    return;
  }
  const orders = [p];
  const task = (trx: Kysely<Database>) => earnOrders(trx, s, orders, now);
  runs.set(state, { orders, task });
  state.deferred.push(task);
}

const factsOf = (p: PendingOrder): OrderFacts => ({
  source: p.ev.source,
  order_ref: p.ev.order_id,
  order_name: p.ev.order_name,
  customer_id: p.customer_id,
  total_minor: p.ev.total_minor,
  currency: p.ev.currency,
  occurred_at: p.ev.occurred_at,
});

/**
 * Earns a run of orders as if one by one (each under the membership in force when placed, then
 * the tiers of its household re-evaluated, then `order.enriched` forwarded with the balance and
 * tier it left), reading the ledger once for the run and writing entries, tier rows and jobs with
 * multi-row statements. An order that already earned is skipped: no entry and no webhook again.
 */
export async function earnOrders(
  trx: Kysely<Database>,
  s: LoyaltySettings,
  orders: PendingOrder[],
  now: number,
): Promise<void> {
  const facts = orders.map(factsOf);
  const ledger = await loadBatchLedger(trx, facts, now, s);
  const writes: LedgerWrites = { entries: [], tiers: [], accounts: ledger.accounts };
  let jobs: NewJob[] = [];
  const flush = async () => {
    await writeLedgerWrites(trx, writes, now);
    await enqueueJobs(trx, jobs, s.max_attempts, now);
    jobs = [];
  };
  for (const [i, p] of orders.entries()) {
    const earn = earnInBatch(ledger, facts[i]!, now, s, { source: p.ev.source, actor: `connector:${p.ev.source}` });
    if (!earn) continue; // this order already earned (and was forwarded): nothing more to do
    writes.entries.push(earn.entry);
    const { changes, rows } = tierChangesInBatch(ledger, p.customer_id, now, s);
    writes.tiers.push(...rows);
    if (changes.length > 0) {
      if (identityPushesRead(s)) await flush(); // the pushes read the new tiers from the database
      jobs.push(...(await tierChangeJobs(trx, changes, now, s, { source: p.ev.source, event_id: p.eventId })));
    }
    const enrichment = enrichmentInBatch(ledger, p.customer_id, earn.membership, s);
    const basis = basisInBatch(ledger, p.customer_id);
    jobs.push(...enrichedOrderJobs(s, p.ev, p.eventId, p.email, enrichment, earn.points, basis));
  }
  await flush();
}

/**
 * One `order.enriched` webhook per subscribed target, built in the latest shape (version 2) and
 * stepped down to the target's pinned version; the payload is documented in docs/checkout-enrichment.md.
 * `basis` is what the tier is computed on (the household pool or the customer).
 */
export function enrichedOrderJobs(
  s: LoyaltySettings,
  ev: OrderPlaced,
  eventId: string,
  email: string | null,
  e: Enrichment,
  pointsEarned: number,
  basis: TierBasis,
): NewJob[] {
  return s.webhook_targets
    .filter((t) => t.events.includes('order.enriched'))
    .map((t) => {
      const event = {
        id: `${eventId}.order.${t.name}`,
        type: 'order.enriched',
        created_at: new Date(ev.occurred_at).toISOString(),
        data: {
          order: {
            id: ev.order_id,
            name: ev.order_name,
            total_minor: ev.total_minor,
            currency: ev.currency,
            line_count: ev.line_count,
            created_at: new Date(ev.occurred_at).toISOString(),
            source: ev.source,
          },
          customer: { id: e.customer_id, email, external_id: ev.external_id },
          household_id: e.household_id,
          hierarchy_role: e.hierarchy_role,
          points_aggregation_opt_in: e.points_aggregation_opt_in,
          tier: e.tier ? { name: e.tier, basis: basis.basis, basis_id: basis.basis_id } : null,
          loyalty: { account_id: e.account_id, points_earned: pointsEarned, balance: e.balance },
        },
      };
      return {
        target: `webhook:${t.name}`,
        kind: 'webhook.deliver',
        job_key: `webhook:${t.name}:${e.customer_id}`,
        payload: { target: t.name, event: shapeEvent(event, t.schema_version) },
        origin_at: ev.occurred_at,
        event_id: eventId,
        customer_id: e.customer_id,
      };
    });
}

/** A customer first met through an order with no address (digital goods) gets its email and name, logged. */
function fillNewCustomer(state: BatchState, row: CustomersTable, ev: OrderPlaced, eventId: string, now: number): void {
  if (row.email || row.version !== 1 || !state.dirtyCustomers.has(row.id)) return;
  const next: CustomersTable = {
    ...row,
    email: ev.contact.email ?? null,
    email_normalized: normalizeEmail(ev.contact.email),
    given_name: row.given_name ?? ev.contact.given_name ?? null,
    family_name: row.family_name ?? ev.contact.family_name ?? null,
    updated_at: now,
  };
  const sources = JSON.parse(row.field_sources) as Record<string, string>;
  for (const field of ['email', 'given_name', 'family_name'] as const) {
    if (next[field] === row[field]) continue;
    sources[field] = ev.source;
    state.changeLog.push({
      id: newId('chg', now),
      customer_id: row.id,
      field,
      old_value: row[field],
      new_value: next[field],
      source_system: ev.source,
      actor: `connector:${ev.source}`,
      event_id: eventId,
      changed_at: now,
    });
  }
  updateCustomer(state, { ...next, field_sources: JSON.stringify(sources) });
}
