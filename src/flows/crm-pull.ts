import type { Kysely } from 'kysely';
import type {
  CanonicalEvent,
  ContactSource,
  HouseholdLink,
  HouseholdSource,
  PulledContact,
} from '../canonical/types.ts';
import { lockTableForWrite, type HearthDb } from '../db/database.ts';
import type { Database, HouseholdPullsTable } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { newId } from '../ids.ts';
import { applyContactUpdate } from './contact-update.ts';
import { flushBatch, loadBatch, resolveCustomer } from './batch-state.ts';
import { loadIdentityCandidates } from './identity-at-ingest.ts';
import type { EngineContext } from './context.ts';
import {
  applyWantedMemberships,
  type KnownToBatch,
  type MembershipEffects,
  type WantedFor,
} from './membership-apply.ts';

type Db = Kysely<Database>;
type ContactUpdate = Extract<CanonicalEvent, { type: 'contact.updated' }>;

export interface PullOptions {
  hdb: HearthDb;
  ctx: EngineContext;
  connector: string;
  contacts: ContactSource;
  /** Household reads of this CRM, when it is the household source; null: contacts only. */
  households: HouseholdSource | null;
  /** Vendor properties to read with each contact (the opt-in property, Salesforce's AccountId). */
  extra_properties: readonly string[];
  effects: MembershipEffects;
  page_size: number;
  now: () => number;
  /** Start over instead of resuming an unfinished pull of this connector. */
  restart?: boolean;
  /** Stop (resumably) after this many pages in this call. */
  max_pages?: number;
  onPage?: (s: PullSummary) => void;
}

export interface PullSummary {
  pull_id: string;
  connector: string;
  status: HouseholdPullsTable['status'];
  resumed: boolean;
  pages: number;
  contacts: number;
  customers_created: number;
  households_created: number;
  members_changed: number;
}

interface PageCounts {
  contacts: number;
  customers_created: number;
  households_created: number;
  members_changed: number;
}

/**
 * Imports or refreshes every contact of one CRM with its household relationships, a page at a
 * time. Each page commits in one transaction: customers through the sync engine's own path
 * (crosswalk, then email, else new; ownership policy; change log; outbound jobs), memberships on
 * the timeline with the ledger hook and IdP pushes, and the cursor of the next page — so a pull
 * that stops for any reason resumes after the last committed page and never applies one twice.
 */
export async function runPull(o: PullOptions): Promise<PullSummary> {
  // Under a table lock: two pulls of one connector started at once get one pull and a 409.
  const { run, resumed } = await o.hdb.db.transaction().execute(async (trx) => {
    await lockTableForWrite(trx, o.hdb.caps, 'household_pulls');
    return openRun(trx, o.connector, o.restart === true, o.now());
  });
  let cursor = run.cursor;
  let summary = toSummary(run, resumed);
  try {
    for (let pages = 0; o.max_pages === undefined || pages < o.max_pages; pages++) {
      const page = await o.contacts.listContacts(cursor, { limit: o.page_size, extra_properties: o.extra_properties });
      const links = o.households ? await o.households.householdsOf(page.records) : new Map<string, HouseholdLink>();
      const from = cursor;
      const counts = await o.hdb.db
        .transaction()
        .execute((trx) => applyPage(trx, o, run.id, page.records, links, from, page.next_cursor));
      cursor = page.next_cursor;
      summary = addCounts(summary, counts, cursor === null ? 'done' : 'running');
      o.onPage?.(summary);
      if (cursor === null) return summary;
    }
    await o.hdb.db
      .updateTable('household_pulls')
      .set({ status: 'paused', updated_at: o.now() })
      .where('id', '=', run.id)
      .execute();
    return { ...summary, status: 'paused' };
  } catch (err) {
    await o.hdb.db
      .updateTable('household_pulls')
      .set({ status: 'failed', error: (err as Error).message.slice(0, 1000), updated_at: o.now() })
      .where('id', '=', run.id)
      .execute();
    throw err;
  }
}

async function applyPage(
  trx: Db,
  o: PullOptions,
  runId: string,
  records: PulledContact[],
  links: Map<string, HouseholdLink>,
  from: string | null,
  next: string | null,
): Promise<PageCounts> {
  const now = o.now();
  const events = records.map((r) => asUpdate(o.connector, r, now));
  const state = await loadBatch(trx, events, o.ctx.writeback_crm, now, loadIdentityCandidates);
  const before = new Set(state.customers.keys());
  const customerOf = new Map<string, string>();
  for (const ev of events) {
    applyContactUpdate(state, o.ctx, ev, runId, now);
    // An echo of our own write changes no fields, but the contact still has a customer.
    customerOf.set(ev.external_id, resolveCustomer(state, ev.source, ev.external_id, ev.contact.email, now).id);
  }
  const created = [...state.customers.keys()].filter((id) => !before.has(id));
  const counts: PageCounts = {
    contacts: records.length,
    customers_created: created.length,
    households_created: 0,
    members_changed: 0,
  };
  // The customers are in the batch state (written by flushBatch before the deferred task runs).
  const emails = new Map<string, string | null>();
  for (const id of customerOf.values()) {
    const c = state.customers.get(id);
    if (c) emails.set(id, c.email);
  }
  // A customer this page created is in no household yet: nothing to read.
  const held = new Map(created.map((id) => [id, undefined]));
  state.deferred.push((db) => applyLinks(db, o, runId, customerOf, links, counts, { emails, held }, now));
  await flushBatch(trx, state, o.ctx.max_attempts, now);
  await trx
    .updateTable('household_pulls')
    .set((eb) => ({
      cursor: next,
      status: next === null ? 'done' : 'running',
      error: null,
      updated_at: now,
      finished_at: next === null ? now : null,
      pages: eb('pages', '+', 1),
      contacts: eb('contacts', '+', counts.contacts),
      customers_created: eb('customers_created', '+', counts.customers_created),
      households_created: eb('households_created', '+', counts.households_created),
      members_changed: eb('members_changed', '+', counts.members_changed),
    }))
    .where('id', '=', runId)
    .where('status', '=', 'running')
    .where((eb) => (from === null ? eb('cursor', 'is', null) : eb('cursor', '=', from)))
    .executeTakeFirst()
    .then((res) => {
      // Another process took this pull over (it looked dead): this page's work is rolled back.
      if (Number(res.numUpdatedRows) !== 1)
        throw new HearthError('conflict', `pull ${runId} was taken over by another process`);
    });
  return counts;
}

/** The page's memberships as one set-based batch (with what the batch state already holds). */
async function applyLinks(
  db: Db,
  o: PullOptions,
  runId: string,
  customerOf: Map<string, string>,
  links: Map<string, HouseholdLink>,
  counts: PageCounts,
  known: KnownToBatch,
  now: number,
): Promise<void> {
  const items: WantedFor[] = [];
  for (const [externalId, want] of links) {
    const customer_id = customerOf.get(externalId);
    if (customer_id) items.push({ customer_id, want });
  }
  const cause = { source: o.connector, occurred_at: now, event_id: runId };
  const outcomes = await applyWantedMemberships(db, o.connector, items, o.effects, cause, now, known);
  for (const r of outcomes) {
    if (r.household_created) counts.households_created++;
    if (r.changed) counts.members_changed++;
  }
}

/** A pulled record goes through the engine as the change event a webhook would have carried. */
function asUpdate(source: string, r: PulledContact, now: number): ContactUpdate {
  return {
    type: 'contact.updated',
    source: source as ContactUpdate['source'],
    external_id: r.external_id,
    contact: r.contact,
    vendor_fields: r.properties,
    origin_is_hearth: false,
    occurred_at: Math.min(r.updated_at ?? now, now),
  };
}

/**
 * A running pull that has not committed a page for this long is taken to have died. Well above
 * the slowest page (five tries with waits of up to a minute for rate limits, plus household reads).
 */
export const STALE_PULL_MS = 10 * 60_000;

/**
 * The unfinished pull of this connector to resume (paused, failed, or running but silent for
 * STALE_PULL_MS: its process died), or a new one. A pull that is alive is never joined: 409.
 */
async function openRun(
  db: Db,
  connector: string,
  restart: boolean,
  now: number,
): Promise<{ run: HouseholdPullsTable; resumed: boolean }> {
  const open = await db
    .selectFrom('household_pulls')
    .selectAll()
    .where('connector', '=', connector)
    .where('status', 'in', ['running', 'paused', 'failed'])
    .orderBy('started_at', 'desc')
    .executeTakeFirst();
  if (open) {
    const claimed = await db
      .updateTable('household_pulls')
      .set({
        status: restart ? 'failed' : 'running',
        updated_at: now,
        ...(restart ? { error: 'abandoned: a new pull was started' } : {}),
      })
      .where('id', '=', open.id)
      .where((eb) => eb.or([eb('status', 'in', ['paused', 'failed']), eb('updated_at', '<', now - STALE_PULL_MS)]))
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1)
      throw new HearthError(
        'conflict',
        `pull ${open.id} of ${connector} is running; try again when it ends ` +
          `(or ${STALE_PULL_MS / 1000} s after its last page if its process died)`,
        { pull_id: open.id },
      );
    if (!restart) return { run: { ...open, status: 'running' }, resumed: true };
  }
  const run: HouseholdPullsTable = {
    id: newId('run', now),
    connector,
    status: 'running',
    cursor: null,
    pages: 0,
    contacts: 0,
    customers_created: 0,
    households_created: 0,
    members_changed: 0,
    error: null,
    started_at: now,
    updated_at: now,
    finished_at: null,
  };
  await db.insertInto('household_pulls').values(run).execute();
  return { run, resumed: false };
}

function toSummary(r: HouseholdPullsTable, resumed: boolean): PullSummary {
  return {
    pull_id: r.id,
    connector: r.connector,
    status: r.status,
    resumed,
    pages: r.pages,
    contacts: r.contacts,
    customers_created: r.customers_created,
    households_created: r.households_created,
    members_changed: r.members_changed,
  };
}

function addCounts(s: PullSummary, c: PageCounts, status: PullSummary['status']): PullSummary {
  return {
    ...s,
    status,
    pages: s.pages + 1,
    contacts: s.contacts + c.contacts,
    customers_created: s.customers_created + c.customers_created,
    households_created: s.households_created + c.households_created,
    members_changed: s.members_changed + c.members_changed,
  };
}

/** The latest pulls (newest first), for the API. */
export async function listPulls(
  db: Db,
  connector: string | undefined,
  limit: number,
  before?: string,
): Promise<HouseholdPullsTable[]> {
  // Newest first by id (ULIDs follow start time), so a page can continue `before` the last id.
  let q = db.selectFrom('household_pulls').selectAll().orderBy('id', 'desc').limit(limit);
  if (connector) q = q.where('connector', '=', connector);
  if (before) q = q.where('id', '<', before);
  return q.execute();
}
