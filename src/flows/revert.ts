import type { Kysely } from 'kysely';
import { ADDRESS_COLUMNS, addressOf, normalizeEmail } from '../canonical/customer.ts';
import { FIELDS_WRITE, type FieldsWritePayload, WRITABLE_FIELDS } from '../connectors/fields-write.ts';
import type { ChangePlan } from '../customers/plan.ts';
import type { ChangeLogTable, CustomersTable, Database } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { newId } from '../ids.ts';
import {
  planRevert,
  type RevertConflict,
  type RevertPlan,
  type RevertSelector,
  type RevertStep,
} from '../governance/revert.ts';
import { minimiseJobs } from '../governance/minimise.ts';
import { enqueueJobs, type NewJob } from '../engine/jobs.ts';
import { flushBatch, loadBatch, updateCustomer } from './batch-state.ts';
import type { EngineContext } from './context.ts';
import { outboundJobs } from './outbound-jobs.ts';
import { queueProjection } from './profile-projection.ts';

type Db = Kysely<Database>;

export interface RevertOptions {
  dry_run: boolean;
  /** Revert what does not conflict and list the rest (default: a conflict stops the whole revert). */
  skip_conflicts?: boolean;
  /** Who asked (an API key id, `cli`). */
  actor: string;
}

export interface RevertResult {
  id: string | null;
  dry_run: boolean;
  applied: boolean;
  selected: number;
  steps: RevertStep[];
  conflicts: RevertConflict[];
  unsupported: RevertPlan['unsupported'];
  jobs: number;
}

const SOURCE = 'hearth';

/**
 * Undoes the selected changes as new changes: the customers' fields go back to the values before
 * them, written through the same batch flush as an applied event (change log rows with the revert's
 * id as event, outbound jobs to every system in the same transaction). A revert is itself an event
 * in the log and can be reverted. A field that a change not selected has since changed is a
 * conflict: the revert stops and reports it (or, with `skip_conflicts`, leaves that field alone).
 */
export async function runRevert(
  db: Db,
  ctx: EngineContext,
  selector: RevertSelector,
  o: RevertOptions,
  now: number,
): Promise<RevertResult> {
  if ('run' in selector) return revertRunHeals(db, ctx, selector.run, o, now);
  return db.transaction().execute(async (trx) => {
    const matched = await selectChanges(trx, selector);
    if (matched.length === 0) throw new HearthError('not_found', `no changes match ${describeSelector(selector)}`);
    // Values blanked by retention or an erasure cannot be restored: listed as unsupported, never written as null.
    const blanked = await redactedLineage(trx, matched);
    const selected = matched.filter((c) => !blanked.has(lineageIdOf(c.id)));
    const customerIds = [...new Set(selected.map((c) => c.customer_id))];
    const customers = await loadCustomers(trx, customerIds);
    const history = await historyOf(trx, customerIds);
    const current = new Map([...customers.values()].map((c) => [c.id, c as unknown as Record<string, string | null>]));
    const plan = planRevert(selected, history, current);
    for (const c of matched) if (blanked.has(lineageIdOf(c.id))) plan.unsupported.push({ id: c.id, field: c.field });
    const merged = plan.steps.filter((s) => customers.get(s.customer_id)?.merged_into);
    if (merged.length > 0)
      throw new HearthError('conflict', `customer ${merged[0]!.customer_id} was merged; revert the merge first`);
    const result: RevertResult = {
      id: null,
      dry_run: o.dry_run,
      applied: false,
      selected: matched.length,
      steps: plan.steps,
      conflicts: plan.conflicts,
      unsupported: plan.unsupported,
      jobs: 0,
    };
    if (o.dry_run || plan.steps.length === 0) return result;
    if (plan.conflicts.length > 0 && !o.skip_conflicts) return result;
    const id = newId('rvt', now);
    const jobs = await applyStewardSteps(trx, ctx, customers, plan.steps, id, `revert:${o.actor}`, now);
    await trx
      .insertInto('governance_reverts')
      .values({
        id,
        selector: JSON.stringify(selector),
        actor: o.actor,
        changes: plan.steps.length,
        customers: new Set(plan.steps.map((s) => s.customer_id)).size,
        skipped: JSON.stringify(plan.conflicts),
        created_at: now,
      })
      .execute();
    return { ...result, id, applied: true, jobs };
  });
}

const lineageIdOf = (changeId: string) => changeId.slice(0, changeId.lastIndexOf('.'));

/** The lineage rows among these changes whose values were blanked (`redacted_at`, migration 0080). */
async function redactedLineage(db: Db, changes: ChangeLogTable[]): Promise<Set<string>> {
  const ids = [...new Set(changes.map((c) => lineageIdOf(c.id)))];
  const out = new Set<string>();
  for (let i = 0; i < ids.length; i += 500)
    for (const r of await db
      .selectFrom('change_lineage')
      .select('id')
      .where('id', 'in', ids.slice(i, i + 500))
      .where('redacted_at', 'is not', null)
      .execute())
      out.add(r.id);
  return out;
}

export function describeSelector(s: RevertSelector): string {
  if ('run' in s) return `reconciliation run ${s.run}`;
  if ('change' in s) return `change ${s.change}`;
  if ('event' in s) return `event ${s.event}`;
  const window = `${s.since ? ` since ${new Date(s.since).toISOString()}` : ''}${
    s.until ? ` until ${new Date(s.until).toISOString()}` : ''
  }`;
  if ('source' in s) return `source ${s.source}${window}`;
  return `customers ${s.customers.join(', ')}${window}`;
}

async function selectChanges(db: Db, s: Exclude<RevertSelector, { run: string }>): Promise<ChangeLogTable[]> {
  if ('change' in s) return oneChange(db, s.change);
  let q = db.selectFrom('change_log').selectAll();
  if ('event' in s) q = q.where('event_id', '=', s.event);
  else {
    if ('source' in s) q = q.where('source_system', '=', s.source);
    else q = q.where('customer_id', 'in', s.customers);
    if (s.since !== undefined) q = q.where('changed_at', '>=', s.since);
    if (s.until !== undefined) q = q.where('changed_at', '<', s.until);
  }
  return q.orderBy('changed_at').orderBy('id').execute();
}

export /** `<lineage id>.NN` read from its lineage row (the view's computed id is not indexed). */
async function oneChange(db: Db, id: string): Promise<ChangeLogTable[]> {
  const dot = id.lastIndexOf('.');
  const index = Number(id.slice(dot + 1));
  if (dot < 1 || !Number.isInteger(index)) return [];
  const row = await db.selectFrom('change_lineage').selectAll().where('id', '=', id.slice(0, dot)).executeTakeFirst();
  const c = row ? (JSON.parse(row.changes) as [string, string | null, string | null][])[index] : undefined;
  if (!row || !c) return [];
  const { changes: _, ...rest } = row;
  return [{ ...rest, id, field: c[0], old_value: c[1], new_value: c[2] }];
}

export async function loadCustomers(db: Db, ids: string[]): Promise<Map<string, CustomersTable>> {
  const out = new Map<string, CustomersTable>();
  for (let i = 0; i < ids.length; i += 200)
    for (const row of await db
      .selectFrom('customers')
      .selectAll()
      .where('id', 'in', ids.slice(i, i + 200))
      .execute())
      out.set(row.id, row);
  return out;
}

/** Every change of these customers: what a revert could conflict with, and who held a field before. */
async function historyOf(db: Db, ids: string[]): Promise<ChangeLogTable[]> {
  const out: ChangeLogTable[] = [];
  for (let i = 0; i < ids.length; i += 200)
    out.push(
      ...(await db
        .selectFrom('change_log')
        .selectAll()
        .where('customer_id', 'in', ids.slice(i, i + 200))
        .execute()),
    );
  return out;
}

/**
 * Writes steward changes (a revert, an approved quality review) as one batch: customer rows,
 * change log rows under `eventId` with actor `<verb>:<who>`, and the outbound jobs of every system,
 * flushed in the caller's transaction. Returns the number of jobs queued.
 */
export async function applyStewardSteps(
  trx: Db,
  ctx: EngineContext,
  customers: Map<string, CustomersTable>,
  steps: RevertStep[],
  eventId: string,
  actor: string,
  now: number,
): Promise<number> {
  const revertId = eventId;
  const state = await loadBatch(trx, [], null, now);
  for (const c of customers.values()) state.customers.set(c.id, c);
  const crmLinks = await crmLinksOf(trx, ctx.writeback_crm, [...customers.keys()]);
  const origin = { source: SOURCE, event_id: revertId, occurred_at: now };
  const byCustomer = new Map<string, RevertStep[]>();
  for (const s of steps) byCustomer.set(s.customer_id, [...(byCustomer.get(s.customer_id) ?? []), s]);
  for (const [customerId, mine] of byCustomer) {
    const row = customers.get(customerId)!;
    const { next, plan } = revertRow(ctx, row, mine, now);
    updateCustomer(state, next);
    for (const l of plan.log)
      state.changeLog.push({
        id: newId('chg', now),
        customer_id: customerId,
        ...l,
        source_system: SOURCE,
        actor,
        event_id: revertId,
        changed_at: now,
      });
    const crm = crmLinks.get(customerId) ?? null;
    state.jobs.push(...outboundJobs(ctx, next, addressOf(row), plan, origin, crm));
    state.jobs.push(...fieldWrites(ctx, next, plan, crm, origin));
    queueProjection(state, ctx, customerId, origin);
  }
  if (ctx.minimisation) state.jobs = minimiseJobs(state.jobs, ctx.minimisation);
  await flushBatch(trx, state, ctx.max_attempts, now);
  return state.jobs.length;
}

/** The customer row with the steps applied, and the plan (updates, log, moved) the outbound jobs read. */
function revertRow(
  ctx: EngineContext,
  row: CustomersTable,
  steps: RevertStep[],
  now: number,
): { next: CustomersTable; plan: ChangePlan } {
  const sources = JSON.parse(row.field_sources) as Record<string, string>;
  const next: Record<string, unknown> = { ...row, version: row.version + 1, updated_at: now };
  const plan: ChangePlan = { updates: {}, log: [], rejected: [], address_moved: false };
  let address = false;
  for (const s of steps) {
    next[s.field] = s.to;
    plan.log.push({ field: s.field, old_value: s.from, new_value: s.to });
    const owner = (ADDRESS_COLUMNS as readonly string[]).includes(s.field) ? 'address' : s.field;
    if (owner === 'address') address = true;
    if (s.restore_source) sources[owner] = s.restore_source;
    else delete sources[owner];
    if (s.field === 'email') next.email_normalized = normalizeEmail(s.to);
  }
  const after = next as unknown as CustomersTable;
  if (address) {
    const restored = addressOf(after);
    after.address_key = restored ? ctx.keyAddress(restored) : null;
    after.address_source = sources.address ?? null;
    plan.address_moved = after.address_key !== row.address_key;
  }
  after.field_sources = JSON.stringify(sources);
  plan.updates = after;
  return { next: after, plan };
}

/** Person fields a revert restored reach the write-back CRM as a fields write, like a support correction. */
function fieldWrites(
  ctx: EngineContext,
  after: CustomersTable,
  plan: ChangePlan,
  crmExternalId: string | null,
  origin: { source: string; event_id: string; occurred_at: number },
) {
  const crm = ctx.writeback_crm;
  if (!crm || !crmExternalId) return [];
  const changed = new Set(plan.log.map((l) => l.field));
  return WRITABLE_FIELDS.filter((f) => changed.has(f)).map((field) => {
    const payload: FieldsWritePayload = {
      customer_id: after.id,
      external_id: crmExternalId,
      fields: { [field]: after[field] },
    };
    return {
      target: crm,
      kind: FIELDS_WRITE,
      job_key: `${crm}:${after.id}:${field}`,
      payload,
      origin_at: origin.occurred_at,
      event_id: origin.event_id,
      customer_id: after.id,
      supersedes_pending: true,
    };
  });
}

async function crmLinksOf(db: Db, crm: string | null, ids: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!crm) return out;
  for (let i = 0; i < ids.length; i += 200) {
    const rows = await db
      .selectFrom('source_links')
      .select(['customer_id', 'external_id'])
      .where('system', '=', crm)
      .where('customer_id', 'in', ids.slice(i, i + 200))
      .orderBy('updated_at')
      .execute();
    for (const r of rows) out.set(r.customer_id, r.external_id);
  }
  return out;
}

/** The reverts run, newest first. */
export async function listReverts(db: Db, limit: number, after?: string) {
  let q = db.selectFrom('governance_reverts').selectAll().orderBy('id', 'desc').limit(limit);
  if (after) q = q.where('id', '<', after);
  return q.execute();
}

/**
 * A reconciliation run's heals wrote Hearth's values into a system: reverting the run writes back
 * what the system held (the finding's system value) as new fields writes, one per heal that was
 * delivered; a heal still queued is cancelled. A newer write of the same field to that record is a
 * conflict. Address heals are listed as unsupported: the finding keeps the old address as text only.
 */
async function revertRunHeals(
  db: Db,
  ctx: EngineContext,
  runId: string,
  o: RevertOptions,
  now: number,
): Promise<RevertResult> {
  return db.transaction().execute(async (trx) => {
    const findings = await trx
      .selectFrom('drift_findings')
      .selectAll()
      .where('run_id', '=', runId)
      .where('job_id', 'is not', null)
      .orderBy('id')
      .execute();
    if (findings.length === 0) throw new HearthError('not_found', `reconciliation run ${runId} healed nothing`);
    const result: RevertResult = {
      id: null,
      dry_run: o.dry_run,
      applied: false,
      selected: findings.length,
      steps: [],
      conflicts: [],
      unsupported: [],
      jobs: 0,
    };
    const writes: NewJob[] = [];
    const cancel: string[] = [];
    for (const f of findings) {
      if (!(WRITABLE_FIELDS as readonly string[]).includes(f.field)) {
        result.unsupported.push({ id: f.id, field: f.field });
        continue;
      }
      const job = await trx.selectFrom('jobs').selectAll().where('id', '=', f.job_id!).executeTakeFirst();
      if (!job || job.status === 'superseded' || job.status === 'dead') continue;
      const newer = await trx
        .selectFrom('jobs')
        .select(['id', 'created_at'])
        .where('job_key', '=', job.job_key)
        .where('kind', '=', job.kind)
        .where('id', '>', job.id)
        .where('status', '!=', 'superseded')
        .orderBy('id', 'desc')
        .executeTakeFirst();
      if (newer) {
        result.conflicts.push({
          customer_id: f.customer_id ?? '',
          field: f.field,
          reverting: f.id,
          newer: {
            id: newer.id,
            source_system: 'hearth',
            actor: job.kind,
            changed_at: newer.created_at,
            new_value: null,
          },
        });
        continue;
      }
      result.steps.push({
        customer_id: f.customer_id ?? '',
        field: f.field,
        from: f.canonical_value,
        to: f.system_value,
        restore_source: f.system,
        reverted: [f.id],
      });
      if (job.status === 'pending') cancel.push(job.id);
      else {
        const payload: FieldsWritePayload = {
          customer_id: job.customer_id ?? '',
          external_id: f.external_id,
          fields: { [f.field]: f.system_value },
        };
        writes.push({
          target: job.target,
          kind: FIELDS_WRITE,
          job_key: job.job_key,
          payload,
          origin_at: now,
          customer_id: job.customer_id,
          supersedes_pending: true,
        });
      }
    }
    if (o.dry_run || result.steps.length === 0) return result;
    if (result.conflicts.length > 0 && !o.skip_conflicts) return result;
    const id = newId('rvt', now);
    if (cancel.length > 0)
      await trx
        .updateTable('jobs')
        .set({ status: 'superseded', updated_at: now })
        .where('id', 'in', cancel)
        .where('status', '=', 'pending')
        .execute();
    const jobs = writes.map((w) => ({ ...w, event_id: id }));
    await enqueueJobs(trx, jobs, ctx.max_attempts, now);
    await trx
      .insertInto('governance_reverts')
      .values({
        id,
        selector: JSON.stringify({ run: runId }),
        actor: o.actor,
        changes: result.steps.length,
        customers: new Set(result.steps.map((s) => s.customer_id)).size,
        skipped: JSON.stringify(result.conflicts),
        created_at: now,
      })
      .execute();
    return { ...result, id, applied: true, jobs: jobs.length };
  });
}
