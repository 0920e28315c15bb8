import type { Kysely } from 'kysely';
import type { HearthConfig } from '../config/loader.ts';
import { descriptorOf, reconcilableNames, type ConnectorRegistry } from '../connectors/registry.ts';
import type { AddressWritePayload, ConnectorId, PulledContact, PullPage } from '../canonical/types.ts';
import { addressOf, normalizeEmail } from '../canonical/customer.ts';
import { lockTableForWrite, type HearthDb } from '../db/database.ts';
import type { CustomersTable, Database, DriftFindingsTable, ReconcileRunsTable } from '../db/schema.ts';
import { HearthError, isHearthError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { compareContact, type FieldComparison } from '../reconcile/compare.ts';
import { decideFinding, HEALABLE_FIELDS } from '../reconcile/policy.ts';
import { projectCustomer } from '../reconcile/projection.ts';
import { rate, scorecard, tally, type RunStats } from '../reconcile/scorecard.ts';
import { enqueueJobs, type NewJob } from '../engine/jobs.ts';
import { readFlags } from '../governance/flag-store.ts';
import { healViolation } from '../governance/quality.ts';
import { FIELDS_WRITE, type FieldsWritePayload, type WritableField } from '../connectors/fields-write.ts';

type Db = Kysely<Database>;

/** A run whose row has not moved for this long is taken as abandoned (its process died): it may be resumed. */
export const STALE_RUN_MS = 10 * 60 * 1000;
const CHUNK = 200;

export interface ReconcileDeps {
  hdb: HearthDb;
  connectors: ConnectorRegistry;
  config: Pick<HearthConfig, 'reconcile' | 'writeback' | 'jobs' | 'identity' | 'descriptors'> &
    Partial<Pick<HearthConfig, 'governance'>>;
  now?: () => number;
  metrics?: Metrics | undefined;
  logger?: Logger | undefined;
  /** Called after heal jobs are committed (wakes the outbox workers). */
  onJobsQueued?: (() => void) | undefined;
}

export interface RunControl {
  /** Stop (status paused, cursor saved) after this many pages; for tests and bounded CLI runs. */
  max_pages?: number;
  /** Checked between pages: true pauses the run (shutdown). */
  shouldStop?: () => boolean;
  /** Called after each committed page (progress). */
  onPage?: (run: ReconcileRunsTable) => void;
}

/** The connected systems a run can pull (connectors with a contact source). */
export function reconcilableSystems(deps: Pick<ReconcileDeps, 'connectors' | 'config'>): string[] {
  return reconcilableNames(deps.config.descriptors).filter((name) => deps.connectors[name]?.source);
}

/** Creates a run over `systems` (all reconcilable ones when empty); refuses while another run is live. */
export async function createRun(
  deps: ReconcileDeps,
  o: { systems?: string[] | undefined; trigger: string; actor: string },
): Promise<ReconcileRunsTable> {
  const available = reconcilableSystems(deps);
  const systems = o.systems?.length ? [...new Set(o.systems)] : available;
  const unknown = systems.filter((s) => !available.includes(s));
  if (unknown.length)
    throw new HearthError(
      'bad_request',
      `cannot reconcile ${unknown.join(', ')}: ` +
        `connected systems with contact pulls are ${available.join(', ') || '(none)'}`,
      { field: 'systems' },
    );
  if (systems.length === 0)
    throw new HearthError(
      'bad_request',
      `no connected system to reconcile (configure one of: ${reconcilableNames(deps.config.descriptors)
        .map((n) => `connectors.${n}`)
        .join(', ')})`,
      { field: 'systems' },
    );
  const now = (deps.now ?? Date.now)();
  const row: ReconcileRunsTable = {
    id: newId('run', now),
    status: 'running',
    trigger: o.trigger,
    actor: o.actor,
    systems: JSON.stringify(systems),
    system: systems[0]!,
    cursor: null,
    pages: 0,
    records: 0,
    matched: 0,
    unmatched: 0,
    findings: 0,
    jobs: 0,
    stats: '{}',
    error: null,
    started_at: now,
    updated_at: now,
    finished_at: null,
  };
  // Check and insert under one lock: two processes starting a run at once get one run and a 409.
  await deps.hdb.db.transaction().execute(async (trx) => {
    await lockTableForWrite(trx, deps.hdb.caps, 'reconcile_runs');
    const live = await liveRun(trx, now);
    if (live) throw new HearthError('conflict', `reconciliation run ${live.id} is still running`, { run_id: live.id });
    await trx.insertInto('reconcile_runs').values(row).execute();
  });
  return row;
}

/** Marks a paused, failed or abandoned run running again, from its saved system and cursor. */
export async function resumeRun(deps: ReconcileDeps, id: string): Promise<ReconcileRunsTable> {
  const now = (deps.now ?? Date.now)();
  const run = await mustGetRun(deps.hdb.db, id);
  const abandoned = run.status === 'running' && run.updated_at < now - STALE_RUN_MS;
  if (run.status !== 'paused' && run.status !== 'failed' && !abandoned)
    throw new HearthError('conflict', `run ${id} is ${run.status}; only paused, failed or abandoned runs resume`);
  await deps.hdb.db.transaction().execute(async (trx) => {
    await lockTableForWrite(trx, deps.hdb.caps, 'reconcile_runs');
    const live = await liveRun(trx, now);
    if (live && live.id !== id)
      throw new HearthError('conflict', `reconciliation run ${live.id} is still running`, { run_id: live.id });
    // Re-checked under the lock: of two resumes of one run, only the first finds it resumable.
    const res = await trx
      .updateTable('reconcile_runs')
      .set({ status: 'running', error: null, updated_at: now })
      .where('id', '=', id)
      .where((eb) =>
        eb.or([
          eb('status', 'in', ['paused', 'failed']),
          eb.and([eb('status', '=', 'running'), eb('updated_at', '<', now - STALE_RUN_MS)]),
        ]),
      )
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) throw new HearthError('conflict', `run ${id} was resumed by someone else`);
  });
  return { ...run, status: 'running', error: null, updated_at: now };
}

async function liveRun(db: Db, now: number): Promise<ReconcileRunsTable | undefined> {
  return db
    .selectFrom('reconcile_runs')
    .selectAll()
    .where('status', '=', 'running')
    .where('updated_at', '>=', now - STALE_RUN_MS)
    .orderBy('id', 'desc')
    .executeTakeFirst();
}

export async function getRun(db: Db, id: string): Promise<ReconcileRunsTable | undefined> {
  return db.selectFrom('reconcile_runs').selectAll().where('id', '=', id).executeTakeFirst();
}

async function mustGetRun(db: Db, id: string): Promise<ReconcileRunsTable> {
  const run = await getRun(db, id);
  if (!run) throw new HearthError('not_found', `reconciliation run ${id} not found`);
  return run;
}

/**
 * Pulls each system of the run page by page from its saved cursor. Each page's findings, heal
 * jobs and the next cursor commit in one transaction, so a run stopped anywhere resumes without
 * double counting. Connector failures end the run as `failed` (resumable), not as an exception.
 */
export async function executeRun(deps: ReconcileDeps, id: string, ctl: RunControl = {}): Promise<ReconcileRunsTable> {
  const now = deps.now ?? Date.now;
  let run = await mustGetRun(deps.hdb.db, id);
  if (run.status !== 'running')
    throw new HearthError('conflict', `run ${id} is ${run.status}; create a run or resume this one first`);
  let pages = 0;
  try {
    while (run.system) {
      if (ctl.shouldStop?.() || (ctl.max_pages !== undefined && pages >= ctl.max_pages))
        return await setStatus(deps.hdb.db, run, 'paused', null, now());
      const source = deps.connectors[run.system as ConnectorId]?.source;
      if (!source)
        throw new HearthError('invalid_config', `connector ${run.system} is not configured or cannot list contacts`);
      const page = await source.listContacts(run.cursor, { limit: deps.config.reconcile.page_size });
      run = await applyPage(deps, run, page, now());
      pages++;
      ctl.onPage?.(run);
    }
    return await finishRun(deps, run, now());
  } catch (err) {
    const message = isHearthError(err) ? err.message : String((err as Error)?.message ?? err);
    deps.logger?.warn({ run_id: id, err: message }, 'reconciliation run failed');
    return setStatus(deps.hdb.db, run, 'failed', message.slice(0, 1000), now());
  }
}

async function setStatus(
  db: Db,
  run: ReconcileRunsTable,
  status: ReconcileRunsTable['status'],
  error: string | null,
  now: number,
): Promise<ReconcileRunsTable> {
  await db.updateTable('reconcile_runs').set({ status, error, updated_at: now }).where('id', '=', run.id).execute();
  return { ...run, status, error, updated_at: now };
}

interface PageResult {
  findings: DriftFindingsTable[];
  heals: { finding: DriftFindingsTable; customer: CustomersTable; external_id: string }[];
  matched: number;
}

async function applyPage(
  deps: ReconcileDeps,
  run: ReconcileRunsTable,
  page: PullPage,
  now: number,
): Promise<ReconcileRunsTable> {
  const system = run.system!;
  const stats = JSON.parse(run.stats) as RunStats;
  const systems = JSON.parse(run.systems) as string[];
  let queued = 0;
  const next = await deps.hdb.db.transaction().execute(async (trx) => {
    const matches = await matchRecords(trx, system, page.records);
    // Runtime flag `reconcile.heal` (governance), read per page: off, heal-policy drift waits for review.
    const heal = (await readFlags(trx)).on('reconcile.heal');
    const result = evaluatePage(deps, run.id, system, page.records, matches, stats, now, heal);
    await supersedeOpen(
      trx,
      run.id,
      system,
      page.records.map((r) => r.external_id),
      now,
    );
    queued = await queueHeals(trx, deps, system, result.heals, now);
    for (let i = 0; i < result.findings.length; i += CHUNK)
      await trx
        .insertInto('drift_findings')
        .values(result.findings.slice(i, i + CHUNK))
        .execute();
    const done = page.next_cursor === null;
    const updated: ReconcileRunsTable = {
      ...run,
      system: done ? (systems[systems.indexOf(system) + 1] ?? null) : system,
      cursor: done ? null : page.next_cursor,
      pages: run.pages + 1,
      records: run.records + page.records.length,
      matched: run.matched + result.matched,
      unmatched: run.unmatched + page.records.length - result.matched,
      findings: run.findings + result.findings.length,
      jobs: run.jobs + queued,
      stats: JSON.stringify(stats),
      updated_at: now,
    };
    const { id, ...rest } = updated;
    // Optimistic: if another executor moved this run on meanwhile, this page's work is rolled back.
    const res = await trx
      .updateTable('reconcile_runs')
      .set(rest)
      .where('id', '=', id)
      .where('pages', '=', run.pages)
      .where('status', '=', 'running')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1)
      throw new HearthError('conflict', `run ${id} was moved on by another executor`);
    return updated;
  });
  if (queued) deps.onJobsQueued?.();
  return next;
}

function mayReceive(deps: ReconcileDeps, system: string, field: string): boolean {
  const allowed = deps.config.governance?.minimisation?.[system];
  return !allowed || (allowed as readonly string[]).includes(field);
}

function healViolationOf(deps: ReconcileDeps, customer: CustomersTable, field: string) {
  const rules = deps.config.governance?.quality.rules ?? [];
  if (rules.length === 0) return null;
  const canonical =
    field === 'address'
      ? { address: addressOf(customer) }
      : { scalar: (customer as unknown as Record<string, string | null>)[field] ?? null };
  return healViolation(rules, field, canonical);
}

/** Compares each matched record with the canonical projection; tallies it and decides its findings. */
function evaluatePage(
  deps: ReconcileDeps,
  runId: string,
  system: string,
  records: PulledContact[],
  matches: Map<string, CustomersTable>,
  stats: RunStats,
  now: number,
  heal = true,
): PageResult {
  const out: PageResult = { findings: [], heals: [], matched: 0 };
  const canHeal = heal && deps.config.writeback.crm === system;
  for (const rec of records) {
    const customer = matches.get(rec.external_id);
    if (!customer) continue;
    out.matched++;
    const comparisons = compareContact(
      projectCustomer(customer, descriptorOf(deps.config.descriptors, system)?.single_street_line === true),
      rec.contact,
      deps.config.identity.default_country,
    );
    tally(stats, system, comparisons);
    for (const c of comparisons) {
      const policy = deps.config.reconcile.policies[c.field];
      const decided = decideFinding(c, policy, canHeal);
      if (!decided) continue;
      // Quality rules (governance): a heal that would write a breaking value waits for review instead.
      // Data minimisation: a field the system may not receive is reported, never written to it.
      const withheld = decided.heal && !mayReceive(deps, system, c.field);
      const broken = decided.heal && !withheld ? healViolationOf(deps, customer, c.field) : null;
      const d = withheld
        ? { ...decided, status: 'reported' as const, heal: false }
        : broken
          ? { ...decided, status: 'open' as const, heal: false }
          : decided;
      const noted = broken
        ? { ...c, detail: { ...c.detail, quality: { rule: broken.rule, reason: broken.reason } } }
        : withheld
          ? { ...c, detail: { ...c.detail, minimisation: `governance.minimisation.${system} leaves out ${c.field}` } }
          : c;
      const finding = findingRow(runId, system, rec.external_id, customer.id, noted, policy, d.kind, d.status, now);
      out.findings.push(finding);
      if (d.heal) out.heals.push({ finding, customer, external_id: rec.external_id });
    }
  }
  return out;
}

function findingRow(
  runId: string,
  system: string,
  externalId: string,
  customerId: string,
  c: FieldComparison,
  policy: string,
  kind: DriftFindingsTable['kind'],
  status: DriftFindingsTable['status'],
  now: number,
): DriftFindingsTable {
  return {
    id: newId('drf', now),
    run_id: runId,
    system,
    external_id: externalId,
    customer_id: customerId,
    field: c.field,
    kind,
    policy,
    status,
    canonical_value: c.canonical,
    system_value: c.system,
    detail: JSON.stringify(c.detail),
    job_id: null,
    decided_by: null,
    decided_at: null,
    created_at: now,
    updated_at: now,
  };
}

/** This run re-checked these records: their findings still open from earlier runs are superseded. */
async function supersedeOpen(db: Db, runId: string, system: string, externalIds: string[], now: number): Promise<void> {
  for (let i = 0; i < externalIds.length; i += CHUNK) {
    await db
      .updateTable('drift_findings')
      .set({ status: 'superseded', updated_at: now })
      .where('system', '=', system)
      .where('status', '=', 'open')
      .where('run_id', '!=', runId)
      .where('external_id', 'in', externalIds.slice(i, i + CHUNK))
      .execute();
  }
}

/**
 * Matches pulled records to customers: the crosswalk first (following merges to the survivor),
 * then a unique normalised email. Records that match nobody are counted, not compared.
 */
export async function matchRecords(
  db: Db,
  system: string,
  records: PulledContact[],
): Promise<Map<string, CustomersTable>> {
  const out = new Map<string, CustomersTable>();
  if (records.length === 0) return out;
  const links = await db
    .selectFrom('source_links')
    .select(['external_id', 'customer_id'])
    .where('system', '=', system)
    .where(
      'external_id',
      'in',
      records.map((r) => r.external_id),
    )
    .execute();
  const byId = await survivors(
    db,
    links.map((l) => l.customer_id),
  );
  for (const l of links) {
    const c = byId.get(l.customer_id);
    if (c) out.set(l.external_id, c);
  }
  const byEmail = new Map<string, string[]>();
  for (const r of records) {
    const email = normalizeEmail(r.contact.email);
    if (!out.has(r.external_id) && email) byEmail.set(email, [...(byEmail.get(email) ?? []), r.external_id]);
  }
  if (byEmail.size === 0) return out;
  const rows = await db
    .selectFrom('customers')
    .selectAll()
    .where('email_normalized', 'in', [...byEmail.keys()])
    .where('merged_into', 'is', null)
    .execute();
  const counts = new Map<string, number>();
  for (const c of rows) counts.set(c.email_normalized!, (counts.get(c.email_normalized!) ?? 0) + 1);
  // Two customers with one email: ambiguous, left unmatched rather than guessed.
  for (const c of rows)
    if (counts.get(c.email_normalized!) === 1)
      for (const ext of byEmail.get(c.email_normalized!) ?? []) out.set(ext, c);
  return out;
}

/** Customers by id, a merged record standing for its survivor. */
async function survivors(db: Db, ids: string[]): Promise<Map<string, CustomersTable>> {
  const out = new Map<string, CustomersTable>();
  let pending = new Map(ids.map((id) => [id, id] as const));
  for (let hop = 0; hop < 5 && pending.size; hop++) {
    const rows = await db
      .selectFrom('customers')
      .selectAll()
      .where('id', 'in', [...new Set(pending.values())])
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    const again = new Map<string, string>();
    for (const [orig, cur] of pending) {
      const row = byId.get(cur);
      if (row?.merged_into) again.set(orig, row.merged_into);
      else if (row) out.set(orig, row);
    }
    pending = again;
  }
  return out;
}

/**
 * Enqueues the corrective address writes through the outbox, as the write-back does (same job
 * kind and key, so the same retries, ordering and echo suppression). A write already pending for
 * the customer is reused, not doubled. Returns the number of new jobs.
 */
async function queueHeals(
  db: Db,
  deps: ReconcileDeps,
  system: string,
  heals: PageResult['heals'],
  now: number,
): Promise<number> {
  const jobs: NewJob[] = [];
  const owners: DriftFindingsTable[] = [];
  for (const h of heals) {
    const pending = await pendingWrite(db, system, h.customer.id, h.finding.field);
    if (pending) h.finding.job_id = pending;
    else {
      jobs.push(healJob(system, h.customer, h.external_id, h.finding.field, now));
      owners.push(h.finding);
    }
  }
  const ids = await enqueueJobs(db, jobs, deps.config.jobs.max_attempts, now);
  ids.forEach((id, i) => {
    owners[i]!.job_id = id;
  });
  return ids.length;
}

async function pendingWrite(db: Db, system: string, customerId: string, field: string): Promise<string | null> {
  const { kind, job_key } = healKey(system, customerId, field);
  const row = await db
    .selectFrom('jobs')
    .select('id')
    .where('job_key', '=', job_key)
    .where('kind', '=', kind)
    .where('status', 'in', ['pending', 'running'])
    .orderBy('id', 'desc')
    .executeTakeFirst();
  return row?.id ?? null;
}

// Addresses go through the write-back's own kind and key; a person field has a key of its own,
// so a newer value of one field supersedes only that field's pending write.
function healKey(system: string, customerId: string, field: string): { kind: string; job_key: string } {
  return field === 'address'
    ? { kind: 'crm.address_write', job_key: `${system}:${customerId}` }
    : { kind: FIELDS_WRITE, job_key: `${system}:${customerId}:${field}` };
}

function healJob(system: string, customer: CustomersTable, externalId: string, field: string, now: number): NewJob {
  const { kind, job_key } = healKey(system, customer.id, field);
  const payload: AddressWritePayload | FieldsWritePayload =
    field === 'address'
      ? {
          customer_id: customer.id,
          external_id: externalId,
          email: customer.email,
          address: addressOf(customer)!,
          corrected_at: now,
        }
      : {
          customer_id: customer.id,
          external_id: externalId,
          fields: { [field as WritableField]: customer[field as WritableField] },
        };
  return { target: system, kind, job_key, payload, origin_at: now, customer_id: customer.id, supersedes_pending: true };
}

/** Closes the run: the scorecard of each system is kept per run, and exported as gauges. */
async function finishRun(deps: ReconcileDeps, run: ReconcileRunsTable, now: number): Promise<ReconcileRunsTable> {
  const lines = scorecard(JSON.parse(run.stats) as RunStats);
  await deps.hdb.db.transaction().execute(async (trx) => {
    const rows = lines.map((l) => ({
      run_id: run.id,
      system: l.system,
      field: l.field,
      compared: l.compared,
      drifted: l.drifted,
      format_only: l.format_only,
      computed_at: now,
    }));
    for (let i = 0; i < rows.length; i += CHUNK)
      await trx
        .insertInto('reconcile_scores')
        .values(rows.slice(i, i + CHUNK))
        .execute();
    await trx
      .updateTable('reconcile_runs')
      .set({ status: 'done', finished_at: now, updated_at: now, error: null })
      .where('id', '=', run.id)
      .execute();
  });
  for (const l of lines) {
    deps.metrics?.reconcileDriftRate.set({ system: l.system, field: l.field }, l.drift_rate);
    deps.metrics?.reconcileDrifted.set({ system: l.system, field: l.field }, l.drifted);
  }
  return { ...run, status: 'done', finished_at: now, updated_at: now, error: null };
}

/** Sets the drift gauges from each system's last finished run (at start: runs other processes finished). */
export async function refreshDriftGauges(db: Db, metrics: Metrics): Promise<void> {
  const rows = await db
    .selectFrom('reconcile_scores as s')
    .innerJoin('reconcile_runs as r', 'r.id', 's.run_id')
    .selectAll('s')
    .where('r.status', '=', 'done')
    .orderBy('s.run_id', 'desc')
    .limit(1000)
    .execute();
  const seen = new Set<string>();
  for (const r of rows) {
    if (seen.has(`${r.system}\u0000${r.field}`)) continue;
    seen.add(`${r.system}\u0000${r.field}`);
    metrics.reconcileDriftRate.set({ system: r.system, field: r.field }, rate(r.drifted, r.compared));
    metrics.reconcileDrifted.set({ system: r.system, field: r.field }, r.drifted);
  }
}

export type FindingAction = 'heal' | 'dismiss';

/**
 * An operator's decision on an open (review) or reported finding: `heal` enqueues the corrective
 * write of Hearth's current value (finding and job in one transaction); `dismiss` closes it.
 */
export async function decideOnFinding(
  deps: ReconcileDeps,
  id: string,
  action: FindingAction,
  actor: string,
): Promise<DriftFindingsTable> {
  const now = (deps.now ?? Date.now)();
  let queued = false;
  const row = await deps.hdb.db.transaction().execute(async (trx) => {
    const f = await trx.selectFrom('drift_findings').selectAll().where('id', '=', id).executeTakeFirst();
    if (!f) throw new HearthError('not_found', `finding ${id} not found`);
    if (f.status !== 'open' && f.status !== 'reported')
      throw new HearthError('conflict', `finding ${id} is ${f.status}; only open or reported findings can be decided`);
    let patch: Partial<DriftFindingsTable> = { status: 'dismissed' };
    if (action === 'heal') {
      const customer = await healableCustomer(trx, deps, f);
      const jobId =
        (await pendingWrite(trx, f.system, customer.id, f.field)) ??
        (
          await enqueueJobs(
            trx,
            [healJob(f.system, customer, f.external_id, f.field, now)],
            deps.config.jobs.max_attempts,
            now,
          )
        )[0]!;
      queued = true;
      patch = { status: 'healing', job_id: jobId };
    }
    const updated = { ...f, ...patch, decided_by: actor, decided_at: now, updated_at: now };
    await trx
      .updateTable('drift_findings')
      .set({ status: updated.status, job_id: updated.job_id, decided_by: actor, decided_at: now, updated_at: now })
      .where('id', '=', id)
      .execute();
    return updated;
  });
  if (queued) deps.onJobsQueued?.();
  return row;
}

async function healableCustomer(db: Db, deps: ReconcileDeps, f: DriftFindingsTable): Promise<CustomersTable> {
  if (f.kind !== 'drift' || !HEALABLE_FIELDS.includes(f.field))
    throw new HearthError(
      'conflict',
      `${f.field} has no corrective write; fix it in ${f.system} or dismiss the finding`,
    );
  if (deps.config.writeback.crm !== f.system)
    throw new HearthError(
      'conflict',
      `Hearth writes only to the write-back CRM (${deps.config.writeback.crm ?? 'none configured'}), not ${f.system}`,
    );
  const customer = (await survivors(db, [f.customer_id])).get(f.customer_id);
  const has =
    f.field === 'address' ? Boolean(customer && addressOf(customer)) : Boolean(customer?.[f.field as WritableField]);
  if (!customer || !has)
    throw new HearthError('conflict', `customer ${f.customer_id} has no canonical ${f.field} to write`);
  return customer;
}

/**
 * Starts runs in the background and on a schedule, one at a time per process (the database
 * refuses a second live run across processes). `close` pauses a run in flight after its page.
 */
export interface ReconcileRunner {
  /** Creates a run and executes it in the background; returns the new run row. */
  start(o: { systems?: string[] | undefined; trigger: string; actor: string }): Promise<ReconcileRunsTable>;
  /** Resumes a paused/failed/abandoned run in the background. */
  resume(id: string): Promise<ReconcileRunsTable>;
  /** Resolves when the background run (if any) settles. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export function createReconcileRunner(deps: ReconcileDeps, scheduleMinutes = 0): ReconcileRunner {
  let inflight: Promise<unknown> = Promise.resolve();
  let stopping = false;
  let busy = false;
  // Creation and execution are both tracked, so close() also waits for a run being created.
  const launch = (created: Promise<ReconcileRunsTable>): Promise<ReconcileRunsTable> => {
    busy = true;
    const started = created.then(
      (run) => {
        inflight = executeRun(deps, run.id, { shouldStop: () => stopping })
          .catch((err: unknown) => deps.logger?.error({ err, run_id: run.id }, 'reconciliation run crashed'))
          .finally(() => {
            busy = false;
          });
        return run;
      },
      (err: unknown) => {
        busy = false;
        throw err;
      },
    );
    inflight = started.catch(() => undefined);
    return started;
  };
  const timer =
    scheduleMinutes > 0
      ? setInterval(() => {
          // A tick while this process still runs one is skipped (the database refuses other processes' overlap).
          if (stopping || busy) return;
          launch(createRun(deps, { trigger: 'schedule', actor: 'schedule' })).catch((err: unknown) =>
            deps.logger?.info({ err: (err as Error).message }, 'scheduled reconciliation skipped'),
          );
        }, scheduleMinutes * 60_000)
      : null;
  timer?.unref();
  const settle = async () => {
    for (let seen = inflight; ; seen = inflight) {
      await seen;
      if (seen === inflight) return;
    }
  };
  return {
    start: (o) => launch(createRun(deps, o)),
    resume: (id) => launch(resumeRun(deps, id)),
    idle: settle,
    close: async () => {
      stopping = true;
      if (timer) clearInterval(timer);
      await settle();
    },
  };
}
