import { type Kysely, PostgresAdapter, sql } from 'kysely';
import type { CanonicalEvent } from '../canonical/types.ts';
import { normalizeEmail } from '../canonical/customer.ts';
import type { CustomersTable, Database } from '../db/schema.ts';
import { newId } from '../ids.ts';
import { deferIndependent, linkKey, setLink, type BatchState } from './batch-state.ts';
import {
  conflictOf,
  decide,
  identityKeys,
  personOfContact,
  personOfRow,
  rowKeys,
  refreshIdentityKeys,
  type Candidate,
  type IdentitySettings,
  type IngestDecision,
  addressKeyOf,
} from '../identity/ingest-model.ts';
import { chunks } from '../db/chunks.ts';
import { comparePair, unpackPattern, type ComparisonContext } from '../identity/comparators.ts';
import { explainPair } from '../identity/fellegi-sunter.ts';
import { suggestHouseholds } from '../identity/householding.ts';
import { buildNicknameIndex } from '../identity/nicknames.ts';
import { createPreparer } from '../identity/prepare.ts';
import { latestModel, type IngestModel } from '../identity/model-store.ts';
import { queueMatchReviews, type MatchReviewInput } from '../identity/review-store.ts';
import type { PersonInput, PreparedRecord } from '../identity/types.ts';

const CHUNK = 200;

/** A match review a batch's event raised, inserted when the batch's deferred tasks run. */
interface PendingReview {
  candidate: Candidate;
  reason: unknown;
  system: string;
  externalId: string | null;
  email: string | null;
  version: number | null;
  modelLabel: string;
  eventId: string | null;
  now: number;
}
const batchReviews = new WeakMap<BatchState, PendingReview[]>();

/**
 * The batch's match reviews (identity/review-store.ts queueMatchReviews: one INSERT per 200, not
 * one per review), the incoming record's customer read when the task runs, nothing for a record
 * that resolved to the candidate itself.
 */
async function queueBatchReviews(trx: Db, state: BatchState, reviews: PendingReview[]): Promise<void> {
  // By apply time (one per batch in the apply loop), each review keeping the time it was raised at.
  const byTime = new Map<number, MatchReviewInput[]>();
  for (const r of reviews) {
    const incoming = r.externalId
      ? state.links.get(linkKey(r.system, r.externalId))?.customer_id
      : state.byEmail.get(r.email!);
    const existing = r.candidate.customer_id;
    if (!incoming || incoming === existing) continue;
    const inputs = byTime.get(r.now) ?? byTime.set(r.now, []).get(r.now)!;
    inputs.push({
      existing,
      incoming,
      score: r.candidate.probability,
      explanation: { ...r.candidate.explanation, guard: r.reason, model: r.modelLabel },
      model_version: r.version,
      source_system: r.system,
      event_id: r.eventId,
    });
  }
  for (const [now, inputs] of byTime) await queueMatchReviews(trx, inputs, now);
}

type Db = Kysely<Database>;

/** A source record the crosswalk and exact email do not resolve: the one identity matching handles. */
// A record with a source id unknown to the crosswalk, or a guest checkout (no source id) whose
// email no customer has: matching decides whether it is someone Hearth already knows.
function unresolved(
  state: BatchState,
  system: string,
  externalId: string | null,
  email: string | null | undefined,
): boolean {
  if (externalId && state.links.has(linkKey(system, externalId))) return false;
  const normalized = normalizeEmail(email);
  if (!externalId && !normalized) return false;
  return !(normalized && state.byEmail.has(normalized));
}

interface Incoming {
  system: string;
  externalId: string | null;
  person: PersonInput;
  addressKey: string | null;
}

const incomings = new WeakMap<CanonicalEvent, Incoming | null>();

/** The source record an event describes (for the event types that create customers), once per event. */
function incomingOf(ev: CanonicalEvent): Incoming | null {
  let out = incomings.get(ev);
  if (out === undefined) incomings.set(ev, (out = describeIncoming(ev)));
  return out;
}

function describeIncoming(ev: CanonicalEvent): Incoming | null {
  if (ev.type === 'checkout.address_confirmed')
    return {
      system: ev.source,
      externalId: ev.external_id,
      person: personOfContact(ev.contact, ev.address),
      addressKey: addressKeyOf(ev.address),
    };
  if (ev.type === 'contact.updated' && !ev.origin_is_hearth)
    return {
      system: ev.source,
      externalId: ev.external_id,
      person: personOfContact(ev.contact),
      addressKey: addressKeyOf(ev.contact.address),
    };
  return null;
}

/**
 * Loads the customers that share a blocking key with the batch's unresolved source records, so
 * matching can run in memory. Called by `loadBatch` after links and emails are known.
 */
/** Blocking keys shared by more customers than this are too common to use at ingest. */
export const MAX_CUSTOMERS_PER_KEY = 200;

export async function loadIdentityCandidates(db: Db, state: BatchState, events: CanonicalEvent[]): Promise<void> {
  await loadIdentityKeysOnly(db, state, events);
  // The model this batch scores with: the latest trained version (`hearth identity train`). Only a
  // record the crosswalk does not know can be matched (the crosswalk only grows during a batch):
  // a batch of only known records (orders, updates of linked contacts) does not read it.
  if (events.some(mayMatch(state))) models.set(state, await latestModel(db));
  const keys = new Set<string>();
  for (const ev of events) {
    const incoming = incomingOf(ev);
    if (!incoming || !unresolved(state, incoming.system, incoming.externalId, incoming.person.email)) continue;
    for (const k of identityKeys(incoming.person, incoming.addressKey)) keys.add(k);
  }
  const byKey = await customersByKey(db, [...keys]);
  // A key shared by very many customers (a common surname in a big postcode) says little about
  // who a record is and would make every new record cost as much as the block: it is skipped,
  // and the other keys (email, phone, delivery point) still find the candidates that matter.
  const ids = new Set<string>();
  for (const list of byKey.values()) if (list.length <= MAX_CUSTOMERS_PER_KEY) for (const id of list) ids.add(id);
  // The candidates not loaded yet (merged ones left out) and the systems each has a crosswalk
  // entry in, with one statement per CHUNK (one row per entry, or one without).
  const systems = new Map<string, Set<string>>();
  for (const part of chunks([...ids], CHUNK)) {
    const rows = await db
      .selectFrom('customers as c')
      .leftJoin('source_links as l', 'l.customer_id', 'c.id')
      .selectAll('c')
      .select('l.system as linked_system')
      .where('c.id', 'in', part)
      .execute();
    for (const { linked_system, ...row } of rows) {
      if (!row.merged_into && !state.customers.has(row.id)) state.customers.set(row.id, row);
      if (linked_system !== null) systems.set(row.id, (systems.get(row.id) ?? new Set()).add(linked_system));
    }
  }
  storedSystems.set(state, systems);
}

/**
 * Can this event's record go through matching in its batch? Not when the crosswalk holds its
 * source id already. Conservative: the event matching sees may be a screened or trimmed copy
 * (quality rules, stale fields) whose email is not the one loaded, so the email is not relied on.
 */
const mayMatch =
  (state: BatchState) =>
  (ev: CanonicalEvent): boolean => {
    const incoming = incomingOf(ev);
    if (!incoming) return false;
    return !(incoming.externalId && state.links.has(linkKey(incoming.system, incoming.externalId)));
  };

/**
 * What a batch needs of identity when matching at ingest is off: its customers' blocking keys
 * still follow every write (no candidates, model or stored links are read).
 */
export async function loadIdentityKeysOnly(_db: Db, state: BatchState, _events: CanonicalEvent[]): Promise<void> {
  state.deferred.push((trx) => afterBatch(trx, state));
}

/**
 * The customers under each key, reading at most MAX_CUSTOMERS_PER_KEY + 1 rows per key: a key
 * over the cap is skipped anyway, and reading all of its rows made each new record cost as much
 * as the whole block (CPU per webhook grew with the number of customers).
 */
export async function customersByKey(db: Db, keys: string[]): Promise<Map<string, string[]>> {
  const byKey = new Map<string, string[]>();
  const add = (r: { key: string; customer_id: string }) => {
    const list = byKey.get(r.key);
    if (list) list.push(r.customer_id);
    else byKey.set(r.key, [r.customer_id]);
  };
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    // One lateral join: PostgreSQL spent ~50 ms planning each UNION of 100 arms.
    const cap = MAX_CUSTOMERS_PER_KEY + 1;
    for (const part of chunks(keys, KEYS_PER_QUERY * 10)) {
      const { rows } = await sql<{ key: string; customer_id: string }>`select k.key, i.customer_id
        from unnest(${part}::text[]) as k(key)
        cross join lateral (select customer_id from identity_keys where key = k.key limit ${cap}) as i`.execute(db);
      rows.forEach(add);
    }
    return byKey;
  }
  const cap = MAX_CUSTOMERS_PER_KEY + 1;
  for (let i = 0; i < keys.length; i += KEYS_PER_QUERY) {
    const part = keys.slice(i, i + KEYS_PER_QUERY);
    // Each arm is a subquery: SQLite takes no LIMIT on the arms of a bare UNION. Written as SQL,
    // not built: the query builder spent more on the arms (one per key, every batch) than SQLite.
    const arms = part.map(
      (key) =>
        sql`select "k"."key", "k"."customer_id" from (select "key", "customer_id" from "identity_keys"
        where "key" = ${key} limit ${cap}) as "k"`,
    );
    const { rows } = await sql<{ key: string; customer_id: string }>`${sql.join(arms, sql` union all `)}`.execute(db);
    rows.forEach(add);
  }
  return byKey;
}

/** Keys per lookup query (one UNION ALL arm each; SQLite allows 500 arms). */
const KEYS_PER_QUERY = 100;

/** Per batch: the stored model loaded with it (absent: the settings' built-in defaults). */
const models = new WeakMap<BatchState, IngestModel>();

/** The model that scores this batch's candidates, with its version (null: built-in defaults). */
export function batchModel(state: BatchState, settings: IdentitySettings): IngestModel {
  const stored = models.get(state);
  return stored && stored.version !== null ? stored : { version: null, model: settings.model };
}

/** Per batch: the systems each candidate already has a crosswalk entry in (as stored). */
const storedSystems = new WeakMap<BatchState, Map<string, Set<string>>>();

/** The systems a customer has records in: stored entries plus those this batch added. */
function linkedSystems(state: BatchState, customerId: string): Set<string> {
  const out = new Set(storedSystems.get(state)?.get(customerId) ?? []);
  for (const l of state.links.values()) if (l.customer_id === customerId) out.add(l.system);
  return out;
}

/**
 * Per batch: the comparison context, a preparer, prepared customers by id and version, and an
 * index from blocking key to the customers that had it (possibly stale: candidates are checked).
 */
interface Matcher {
  ctx: ComparisonContext;
  prepare: (p: PersonInput) => PreparedRecord;
  cache: Map<string, { version: number; keys: string[]; prepared: PreparedRecord | null }>;
  index: Map<string, Set<string>>;
  indexed: Map<string, number>;
  /** How many of the batch's customer writes (`state.customerEdits`) are indexed. */
  editsSeen: number;
}

let nicknames: Map<string, number[]> | undefined;

/**
 * One preparer per default country, shared by batches: its memos (streets, names, phones) are pure
 * functions of their input, and the same candidates come back batch after batch, so a preparer per
 * batch parsed their addresses again each time. Renewed after PREPARER_USES records, which bounds
 * its memory well below the preparer's own limit.
 */
const preparers = new Map<string, { prepare: (p: PersonInput) => PreparedRecord; uses: number }>();
const PREPARER_USES = 100_000;

function sharedPreparer(country: string): (p: PersonInput) => PreparedRecord {
  return (p) => {
    let entry = preparers.get(country);
    if (!entry || entry.uses >= PREPARER_USES) {
      entry = { prepare: createPreparer({ defaultCountry: country }), uses: 0 };
      preparers.set(country, entry);
    }
    entry.uses++;
    return entry.prepare(p);
  };
}
const matchers = new WeakMap<BatchState, Matcher>();

function matcherFor(state: BatchState, settings: IdentitySettings): Matcher {
  let m = matchers.get(state);
  if (!m) {
    nicknames ??= buildNicknameIndex();
    m = {
      ctx: { nicknames },
      prepare: sharedPreparer(settings.default_country),
      cache: new Map(),
      index: new Map(),
      indexed: new Map(),
      editsSeen: state.customerEdits.length,
    };
    matchers.set(state, m);
    for (const row of state.customers.values()) indexRow(m, row);
  }
  // Only the batch's own writes change customers after loading: index each new write once
  // (scanning every dirty customer per event made a batch quadratic).
  for (; m.editsSeen < state.customerEdits.length; m.editsSeen++) {
    const row = state.customers.get(state.customerEdits[m.editsSeen]!)!;
    if (m.indexed.get(row.id) !== row.version) indexRow(m, row);
  }
  return m;
}

function indexRow(m: Matcher, row: CustomersTable): void {
  m.indexed.set(row.id, row.version);
  for (const k of entryOf(m, row).keys) m.index.set(k, (m.index.get(k) ?? new Set()).add(row.id));
}

/** Batches whose flows ran with identity matching enabled (they also get household suggestions). */
const enabledBatches = new WeakSet<BatchState>();

async function afterBatch(db: Db, state: BatchState): Promise<void> {
  const rows = [...state.dirtyCustomers].map((id) => state.customers.get(id)!);
  // A customer this batch created has no keys stored: nothing to delete first.
  await refreshIdentityKeys(db, rows, state.created);
  if (!enabledBatches.has(state)) return;
  const addressKeys = [...new Set(rows.filter((r) => !r.merged_into && r.address_key).map((r) => r.address_key!))];
  if (addressKeys.length > 0) await suggestHouseholds(db, addressKeys, Math.max(...rows.map((r) => r.updated_at)));
}

function entryOf(m: Matcher, row: CustomersTable): { keys: string[]; prepared: PreparedRecord | null } {
  const hit = m.cache.get(row.id);
  if (hit && hit.version === row.version) return hit;
  const entry = { version: row.version, keys: rowKeys(row), prepared: null };
  m.cache.set(row.id, entry);
  return entry;
}

function preparedOf(m: Matcher, row: CustomersTable): PreparedRecord {
  const entry = entryOf(m, row) as { prepared: PreparedRecord | null };
  entry.prepared ??= m.prepare(personOfRow(row));
  return entry.prepared;
}

export function rankCandidates(
  state: BatchState,
  settings: IdentitySettings,
  incoming: Pick<Incoming, 'system' | 'person' | 'addressKey'>,
): Candidate[] {
  const { system, person, addressKey } = incoming;
  const m = matcherFor(state, settings);
  const keys = new Set(identityKeys(person, addressKey));
  if (keys.size === 0) return [];
  const ids = new Set<string>();
  for (const k of keys) {
    const block = m.index.get(k);
    if (block && block.size <= MAX_CUSTOMERS_PER_KEY) for (const id of block) ids.add(id);
  }
  if (ids.size === 0) return [];
  const prepared = m.prepare(person);
  const { model } = batchModel(state, settings);
  const out: Candidate[] = [];
  for (const id of ids) {
    const row = state.customers.get(id);
    if (!row || row.merged_into || !entryOf(m, row).keys.some((k) => keys.has(k))) continue;
    const existing = preparedOf(m, row);
    const levels = unpackPattern(comparePair(prepared, existing, m.ctx));
    const explanation = explainPair(model, levels, prepared);
    // A second record from one system (a duplicate CRM contact or storefront account) is for a person to decide.
    const conflict =
      conflictOf(prepared, existing, levels, m.ctx) ??
      (linkedSystems(state, row.id).has(system) ? 'already_linked_in_system' : null);
    out.push({ customer_id: row.id, probability: explanation.match_probability, explanation, conflict });
  }
  return out.sort((x, y) => y.probability - x.probability);
}

export function matchIncoming(
  state: BatchState,
  settings: IdentitySettings | null | undefined,
  ev: CanonicalEvent,
  eventId: string,
  now: number,
): IngestDecision | null {
  if (settings) enabledBatches.add(state);
  const incoming = settings ? incomingOf(ev) : null;
  if (!settings || !incoming || !unresolved(state, incoming.system, incoming.externalId, incoming.person.email))
    return null;
  const decision = decide(rankCandidates(state, settings, incoming), settings);
  const version = batchModel(state, settings).version;
  const modelLabel = version === null ? 'defaults' : `v${version}`;
  const { system, externalId } = incoming;
  const email = normalizeEmail(incoming.person.email);
  if (decision.band === 'auto') {
    // A guest has no source id to link: its email then resolves to the customer it matched.
    if (externalId) setLink(state, system, externalId, decision.candidate.customer_id, undefined, now);
    else state.byEmail.set(email!, decision.candidate.customer_id);
    const linked = externalId ? `${system}:${externalId}` : `${system}:guest:${email}`;
    state.changeLog.push({
      id: newId('chg', now),
      customer_id: decision.candidate.customer_id,
      field: 'source_link',
      old_value: null,
      new_value: linked,
      source_system: 'hearth',
      actor: `identity:auto_link p=${decision.candidate.probability.toFixed(6)} model=${modelLabel}`,
      event_id: eventId,
      changed_at: now,
    });
  } else if (decision.band === 'review') {
    const { candidate, reason } = decision;
    let reviews = batchReviews.get(state);
    if (!reviews) {
      // One deferred task inserts the batch's match reviews in one statement (a chunk at a time).
      const queued: PendingReview[] = [];
      batchReviews.set(state, queued);
      deferIndependent(state, (trx) => queueBatchReviews(trx, state, queued));
      reviews = queued;
    }
    reviews.push({ candidate, reason, system, externalId, email, version, modelLabel, eventId, now });
  }
  return decision;
}
