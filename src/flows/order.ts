import type { Kysely } from 'kysely';
import type { CanonicalEvent } from '../canonical/types.ts';
import { normalizeEmail } from '../canonical/customer.ts';
import type { CustomersTable, Database } from '../db/schema.ts';
import { newId } from '../ids.ts';
import { enrichmentFor, type Enrichment } from '../loyalty/enrichment.ts';
import { earnForOrder, reverseOrder } from '../loyalty/order-ledger.ts';
import { tierBasis, type TierBasis } from '../loyalty/tier-store.ts';
import { shapeEvent } from '../connectors/webhook/versions.ts';
import type { LoyaltySettings } from '../loyalty/settings.ts';
import { reevaluateTiers } from './tiers.ts';
import { resolveCustomer, updateCustomer, type BatchState } from './batch-state.ts';
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
  const s = settingsFor(ctx);
  state.deferred.push((trx) => earnAndForward(trx, s, customer.id, customer.email, ev, eventId, now));
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

async function earnAndForward(
  trx: Kysely<Database>,
  s: LoyaltySettings,
  customerId: string,
  email: string | null,
  ev: OrderPlaced,
  eventId: string,
  now: number,
): Promise<void> {
  const facts = {
    source: ev.source,
    order_ref: ev.order_id,
    order_name: ev.order_name,
    customer_id: customerId,
    total_minor: ev.total_minor,
    currency: ev.currency,
    occurred_at: ev.occurred_at,
  };
  const earn = await earnForOrder(trx, facts, now, s, { source: ev.source, actor: `connector:${ev.source}` });
  if (!earn.entry) return; // this order already earned (and was forwarded): nothing more to do
  await reevaluateTiers(trx, [customerId], now, s, { source: ev.source, event_id: eventId });
  const enrichment = await enrichmentFor(trx, customerId, ev.occurred_at, now, s, earn.membership ?? null);
  const basis = await tierBasis(trx, customerId);
  const jobs = enrichedOrderJobs(s, ev, eventId, email, enrichment, earn.points, basis);
  await enqueueJobs(trx, jobs, s.max_attempts, now);
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
