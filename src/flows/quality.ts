import type { Kysely } from 'kysely';
import type { PostalAddress } from '../address/types.ts';
import { ADDRESS_COLUMNS, addressColumns, addressOf, normalizeEmail } from '../canonical/customer.ts';
import type { CanonicalContact, CanonicalEvent } from '../canonical/types.ts';
import type { CustomersTable, Database, QualityReviewsTable } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { setFlag } from '../governance/flag-store.ts';
import { checkValue, rateViolation, type QualityField, type Violation } from '../governance/quality.ts';
import type { QualityRule } from '../governance/quality-schema.ts';
import type { RevertStep } from '../governance/revert.ts';
import { newId } from '../ids.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { linkKey, type BatchState } from './batch-state.ts';
import type { EngineContext } from './context.ts';
import type { EventScreen } from './governed-applier.ts';
import { applyStewardSteps, loadCustomers } from './revert.ts';

type Db = Kysely<Database>;
const SCALARS = ['given_name', 'family_name', 'email', 'phone'] as const;

/** What the screen knows in one batch: customers changed per source and field in the window, tripped breakers. */
interface QualityBatch {
  total: number;
  changed: Map<string, Set<string>>;
  tripped: Set<string>;
}

/**
 * Quality rules at ingest, as a screen in front of the event flows: a contact change whose value
 * breaks a rule, or that pushes one source's change rate for a field over its limit, is taken out
 * of the event and held in the review queue (rule, old and new value); the rest of the event
 * applies. A rate rule with `action: breaker` also opens `breaker.<source>`: from then on every
 * change of that source is held until an admin closes the breaker (a flag, audit-logged).
 */
export function createQualityScreen(
  rules: readonly QualityRule[],
  o: { metrics?: Metrics | undefined; logger?: Logger | undefined } = {},
): EventScreen | undefined {
  if (rules.length === 0) return undefined;
  const rateRules = rules.filter((r) => r.check === 'max_change_rate');
  return {
    prepare: async (trx, _state, events, now) => {
      const batch: QualityBatch = { total: 0, changed: new Map(), tripped: new Set() };
      if (rateRules.length === 0) return batch;
      const sources = [...new Set(events.filter((e) => e.type !== 'unsupported').map((e) => e.source))];
      const total = await trx
        .selectFrom('customers')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('merged_into', 'is', null)
        .executeTakeFirst();
      batch.total = Number(total?.n ?? 0);
      for (const r of rateRules) {
        const columns = r.field === 'address' ? [...ADDRESS_COLUMNS] : [r.field];
        for (const source of sources) {
          const rows = await trx
            .selectFrom('change_log')
            .select('customer_id')
            .distinct()
            .where('source_system', '=', source)
            .where('field', 'in', columns)
            .where('changed_at', '>=', now - r.window_minutes * 60_000)
            .execute();
          batch.changed.set(`${source}\u0000${r.field}`, new Set(rows.map((x) => x.customer_id)));
        }
      }
      return batch;
    },
    screen: (state, ev, eventId, now) => {
      if (ev.type !== 'contact.updated' && ev.type !== 'checkout.address_confirmed') return ev;
      const batch = state.screen as QualityBatch;
      const inner = state.inner;
      const customerId = customerOf(inner, ev.source, ev.external_id, ev.contact.email);
      const row = customerId ? inner.customers.get(customerId) : undefined;
      const held: { field: QualityField; v: Violation; old: string | null; value: string | null }[] = [];
      const contact: CanonicalContact = { ...ev.contact };
      // A checkout address has its own plausibility quarantine; the rules screen the contact's fields.
      const fields: QualityField[] = ev.type === 'contact.updated' ? [...SCALARS, 'address'] : [...SCALARS];
      const breaker = state.flags.breakerOpen(ev.source) || batch.tripped.has(ev.source);
      for (const field of fields) {
        const incoming = valueOf(contact, field);
        if (incoming === undefined || same(field, row, incoming)) continue;
        let v: Violation | undefined = breaker
          ? { rule: `breaker.${ev.source}`, field, reason: `the breaker of ${ev.source} is open`, action: 'quarantine' }
          : checkValue(rules, field, incoming)[0];
        if (!v) v = rateCheck(rateRules, batch, ev.source, field, customerId ?? `${ev.source}:${ev.external_id}`);
        if (!v) continue;
        held.push({ field, v, old: row ? show(currentOf(row, field)) : null, value: show(incoming) });
        if (field === 'address') contact.address = undefined;
        else contact[field] = undefined;
        if (v.action === 'breaker' && !batch.tripped.has(ev.source)) {
          batch.tripped.add(ev.source);
          o.metrics?.qualityBreakersTripped.inc({ rule: v.rule, source: ev.source });
          o.logger?.warn({ rule: v.rule, source: ev.source, reason: v.reason }, 'quality breaker opened');
          const reason = v.reason;
          const rule = v.rule;
          inner.deferred.push((trx) =>
            setFlag(trx, `breaker.${ev.source}`, 'open', `quality:${rule}`, now, reason).then(() => {}),
          );
        }
      }
      if (held.length === 0) return ev;
      const who = customerId ?? `${ev.source}:${ev.external_id}`;
      for (const h of held) o.metrics?.qualityViolations.inc({ rule: h.v.rule, source: ev.source });
      inner.deferred.push(async (trx) => {
        await trx
          .insertInto('quality_reviews')
          .values(
            held.map((h) => ({
              id: newId('qlt', now),
              customer_id: who,
              source_system: ev.source,
              event_id: eventId,
              field: h.field,
              rule: h.v.rule,
              reason: h.v.reason,
              old_value: h.old,
              new_value: h.value,
              status: 'open' as const,
              decided_by: null,
              decided_at: null,
              created_at: now,
            })),
          )
          .execute();
      });
      return { ...ev, contact } as CanonicalEvent;
    },
  };
}

function rateCheck(
  rules: readonly QualityRule[],
  batch: QualityBatch,
  source: string,
  field: QualityField,
  customer: string,
): Violation | undefined {
  for (const r of rules) {
    if (r.field !== field) continue;
    const key = `${source}\u0000${field}`;
    const set = batch.changed.get(key) ?? new Set<string>();
    const next = new Set(set).add(customer);
    const v = rateViolation(r, next.size, Math.max(batch.total, next.size));
    if (v) return v;
    batch.changed.set(key, next);
  }
  return undefined;
}

function customerOf(state: BatchState, source: string, externalId: string | null, email: string | null | undefined) {
  const linked = externalId ? state.links.get(linkKey(source, externalId)) : undefined;
  if (linked) return linked.customer_id;
  const e = normalizeEmail(email);
  return e ? (state.byEmail.get(e) ?? null) : null;
}

function valueOf(c: CanonicalContact, field: QualityField): string | PostalAddress | null | undefined {
  if (field === 'address') return c.address === undefined ? undefined : c.address?.line1 ? c.address : undefined;
  return c[field];
}

function currentOf(row: CustomersTable, field: QualityField): string | PostalAddress | null {
  return field === 'address' ? addressOf(row) : row[field];
}

function same(field: QualityField, row: CustomersTable | undefined, incoming: string | PostalAddress | null): boolean {
  if (!row) return false;
  if (field !== 'address')
    return (row[field] ?? null) === (typeof incoming === 'string' ? incoming.trim() || null : null);
  if (!incoming || typeof incoming === 'string') return false;
  const cols = addressColumns(incoming);
  return ADDRESS_COLUMNS.every((c) => cols[c] === row[c]);
}

function show(v: string | PostalAddress | null): string | null {
  return v === null || typeof v === 'string' ? v : JSON.stringify(v);
}

export async function listQualityReviews(
  db: Db,
  status: QualityReviewsTable['status'] | undefined,
  limit: number,
  after?: string,
): Promise<QualityReviewsTable[]> {
  let q = db.selectFrom('quality_reviews').selectAll().orderBy('id', 'desc').limit(limit);
  if (status) q = q.where('status', '=', status);
  if (after) q = q.where('id', '<', after);
  return q.execute();
}

/**
 * A steward decides a held change: reject closes it; approve writes the held value as a new change
 * (change log with the review's id as event, outbound jobs to every system), in one transaction.
 */
export async function decideQualityReview(
  db: Db,
  ctx: EngineContext,
  id: string,
  decision: 'approve' | 'reject',
  actor: string,
  now: number,
): Promise<QualityReviewsTable> {
  return db.transaction().execute(async (trx) => {
    const review = await trx.selectFrom('quality_reviews').selectAll().where('id', '=', id).executeTakeFirst();
    if (!review) throw new HearthError('not_found', `quality review ${id} not found`);
    if (review.status !== 'open') throw new HearthError('conflict', `quality review ${id} is already ${review.status}`);
    if (decision === 'approve') await approve(trx, ctx, review, actor, now);
    const status = decision === 'approve' ? ('approved' as const) : ('rejected' as const);
    await trx
      .updateTable('quality_reviews')
      .set({ status, decided_by: actor, decided_at: now })
      .where('id', '=', id)
      .execute();
    return { ...review, status, decided_by: actor, decided_at: now };
  });
}

async function approve(trx: Db, ctx: EngineContext, r: QualityReviewsTable, actor: string, now: number) {
  const customerId = r.customer_id.startsWith('cus_') ? r.customer_id : await linkedCustomer(trx, r.customer_id);
  if (!customerId) throw new HearthError('conflict', `no customer is linked to ${r.customer_id} yet; reject instead`);
  const customers = await loadCustomers(trx, [customerId]);
  const row = customers.get(customerId);
  if (!row) throw new HearthError('conflict', `customer ${customerId} no longer exists`);
  const steps: RevertStep[] = [];
  const step = (field: string, to: string | null) => {
    const from = (row as unknown as Record<string, string | null>)[field] ?? null;
    if (from !== to)
      steps.push({ customer_id: customerId, field, from, to, restore_source: r.source_system, reverted: [] });
  };
  if (r.field === 'address') {
    const cols = addressColumns(JSON.parse(r.new_value ?? 'null') as PostalAddress);
    for (const c of ADDRESS_COLUMNS) step(c, cols[c]);
  } else step(r.field, r.new_value);
  if (steps.length > 0) await applyStewardSteps(trx, ctx, customers, steps, r.id, `quality:${actor}`, now);
}

async function linkedCustomer(db: Db, ref: string): Promise<string | null> {
  const colon = ref.indexOf(':');
  const row = await db
    .selectFrom('source_links')
    .select('customer_id')
    .where('system', '=', ref.slice(0, colon))
    .where('external_id', '=', ref.slice(colon + 1))
    .executeTakeFirst();
  return row?.customer_id ?? null;
}
