import type { Kysely } from 'kysely';
import { normalizeAddress } from '../address/index.ts';
import type { PostalAddress } from '../address/types.ts';
import type { HearthConfig } from '../config/loader.ts';
import type { CanonicalContact, CanonicalEvent } from '../canonical/types.ts';
import { normalizeEmail } from '../canonical/customer.ts';
import type { CustomersTable, Database } from '../db/schema.ts';
import { newId } from '../ids.ts';
import { linkKey, setLink, type BatchState } from '../flows/batch-state.ts';
import { comparePair, FIELD_COMPARATORS, unpackPattern, type ComparisonContext, type Level } from './comparators.ts';
import { strongConflict } from './engine.ts';
import { explainPair, type Explanation, type FsModel } from './fellegi-sunter.ts';
import { suggestHouseholds } from './householding.ts';
import { buildNicknameIndex } from './nicknames.ts';
import { canonicalEmail, createPreparer } from './prepare.ts';
import { queueMatchReview } from './review-store.ts';
import { simplify } from './strings.ts';
import type { PersonInput, PreparedRecord } from './types.ts';

type Db = Kysely<Database>;

/** The identity settings the apply flows use (from `identity` in config). */
export interface IdentitySettings {
  auto_link: number;
  review: number;
  default_country: string;
  model: FsModel;
}

export function identitySettings(cfg: HearthConfig['identity']): IdentitySettings | null {
  if (!cfg.enabled) return null;
  return { auto_link: cfg.auto_link, review: cfg.review, default_country: cfg.default_country, model: DEFAULT_INGEST_MODEL };
}

// m/u per field and level (index 0 = disagree ... last = exact), in the comparators' level order.
// Hand-set defaults, not estimated: at ingest one new record meets a handful of candidates, too
// few pairs for EM. u is the chance a random pair of different people agrees at that level; m the
// chance two records of one person do (people keep several emails and phones, so contact points
// disagree often for the same person and weigh little when they do). Address agreement is kept
// moderate because relatives share it.
const DEFAULT_PARAMS: Record<string, { m: number[]; u: number[] }> = {
  given_name: { m: [0.01, 0.05, 0.12, 0.82], u: [0.93, 0.03, 0.03, 0.01] },
  family_name: { m: [0.03, 0.04, 0.1, 0.83], u: [0.9, 0.05, 0.02, 0.03] },
  date_of_birth: { m: [0.02, 0.03, 0.1, 0.85], u: [0.96, 0.02, 0.01, 0.01] },
  national_id: { m: [0.02, 0.02, 0.04, 0.92], u: [0.997, 0.001, 0.001, 0.001] },
  email: { m: [0.4, 0.05, 0.55], u: [0.997, 0.002, 0.001] },
  phone: { m: [0.35, 0.05, 0.6], u: [0.99, 0.005, 0.005] },
  address_line2: { m: [0.15, 0.05, 0.1, 0.7], u: [0.7, 0.1, 0.1, 0.1] },
  street_address: { m: [0.15, 0.05, 0.1, 0.7], u: [0.95, 0.02, 0.01, 0.02] },
  locality: { m: [0.1, 0.05, 0.1, 0.75], u: [0.75, 0.1, 0.05, 0.1] },
};
/** Prior: the chance that a candidate (sharing a blocking key) is the same person. */
const DEFAULT_LAMBDA = 0.001;

/** The ingest model: defaults above; a field the table does not know (added later) weighs nothing. */
export function defaultIngestModel(): FsModel {
  const params = FIELD_COMPARATORS.map((c) => {
    const p = DEFAULT_PARAMS[c.name];
    return p && p.m.length === c.levels.length ? p : { m: c.levels.map(() => 1), u: c.levels.map(() => 1) };
  });
  return { lambda: DEFAULT_LAMBDA, m: params.map((p) => p.m), u: params.map((p) => p.u), iterations: 0, tf: FIELD_COMPARATORS.map(() => null) };
}
const DEFAULT_INGEST_MODEL = defaultIngestModel();

export function personOfRow(r: CustomersTable): PersonInput {
  return { given_name: r.given_name, family_name: r.family_name, email: r.email, phone: r.phone, address_line1: r.address_line1, address_line2: r.address_line2, city: r.city, region: r.region, postal_code: r.postal_code, country: r.country };
}

export function personOfContact(c: CanonicalContact, address?: PostalAddress | null): PersonInput {
  const a = address ?? c.address ?? null;
  return { given_name: c.given_name, family_name: c.family_name, email: c.email, phone: c.phone, address_line1: a?.line1, address_line2: a?.line2, city: a?.city, region: a?.region, postal_code: a?.postal_code, country: a?.country };
}

function addressKeyOf(a: PostalAddress | null | undefined): string | null {
  if (!a?.line1) return null;
  try {
    return normalizeAddress(a).key;
  } catch {
    return null;
  }
}

/**
 * Blocking keys of a person: canonical email, the last nine digits of the phone (the same with or
 * without a country code), the delivery-point key, family name + 5-digit postcode. Any shared key
 * makes a customer a candidate.
 */
export function identityKeys(p: PersonInput, addressKey: string | null): string[] {
  const keys: string[] = [];
  const email = canonicalEmail(p.email ?? '');
  if (email.includes('@')) keys.push(`email:${email}`);
  const digits = (p.phone ?? '').replace(/[^0-9]/g, '');
  if (digits.length >= 9) keys.push(`phone:${digits.slice(-9)}`);
  if (addressKey) keys.push(`addr:${addressKey}`);
  const family = simplify(p.family_name ?? '').replace(/ /g, '');
  const postcode = (p.postal_code ?? '').replace(/[^0-9a-zA-Z]/g, '').toLowerCase().slice(0, 5);
  if (family && postcode) keys.push(`fpc:${family}|${postcode}`);
  return keys;
}

export const rowKeys = (r: CustomersTable): string[] => identityKeys(personOfRow(r), r.address_key);

const CHUNK = 200;
function chunks<T>(xs: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += CHUNK) out.push(xs.slice(i, i + CHUNK));
  return out;
}

/** Rewrites the blocking keys of these customers (none for merged ones). */
export async function refreshIdentityKeys(db: Db, rows: CustomersTable[]): Promise<void> {
  for (const part of chunks(rows)) {
    await db.deleteFrom('identity_keys').where('customer_id', 'in', part.map((r) => r.id)).execute();
    const values = part.filter((r) => !r.merged_into).flatMap((r) => [...new Set(rowKeys(r))].map((key) => ({ key, customer_id: r.id })));
    for (const vs of chunks(values)) await db.insertInto('identity_keys').values(vs).onConflict((oc) => oc.columns(['key', 'customer_id']).doNothing()).execute();
  }
}

/** A source record the crosswalk and exact email do not resolve: the one identity matching handles. */
// A record with a source id unknown to the crosswalk, or a guest checkout (no source id) whose
// email no customer has: matching decides whether it is someone Hearth already knows.
function unresolved(state: BatchState, system: string, externalId: string | null, email: string | null | undefined): boolean {
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
  if (ev.type === 'checkout.address_confirmed') return { system: ev.source, externalId: ev.external_id, person: personOfContact(ev.contact, ev.address), addressKey: addressKeyOf(ev.address) };
  if (ev.type === 'contact.updated' && !ev.origin_is_hearth) return { system: ev.source, externalId: ev.external_id, person: personOfContact(ev.contact), addressKey: addressKeyOf(ev.contact.address) };
  return null;
}

/**
 * Loads the customers that share a blocking key with the batch's unresolved source records, so
 * matching can run in memory. Called by `loadBatch` after links and emails are known.
 */
/** Blocking keys shared by more customers than this are too common to use at ingest. */
export const MAX_CUSTOMERS_PER_KEY = 200;

export async function loadIdentityCandidates(db: Db, state: BatchState, events: CanonicalEvent[]): Promise<void> {
  // Blocking keys (and household suggestions) follow every customer the batch writes.
  state.deferred.push((trx) => afterBatch(trx, state));
  const keys = new Set<string>();
  for (const ev of events) {
    const incoming = incomingOf(ev);
    if (!incoming || !unresolved(state, incoming.system, incoming.externalId, incoming.person.email)) continue;
    for (const k of identityKeys(incoming.person, incoming.addressKey)) keys.add(k);
  }
  const byKey = new Map<string, string[]>();
  for (const part of chunks([...keys])) {
    for (const r of await db.selectFrom('identity_keys').select(['key', 'customer_id']).where('key', 'in', part).execute()) {
      const list = byKey.get(r.key);
      if (list) list.push(r.customer_id);
      else byKey.set(r.key, [r.customer_id]);
    }
  }
  // A key shared by very many customers (a common surname in a big postcode) says little about
  // who a record is and would make every new record cost as much as the block: it is skipped,
  // and the other keys (email, phone, delivery point) still find the candidates that matter.
  const ids = new Set<string>();
  for (const list of byKey.values()) if (list.length <= MAX_CUSTOMERS_PER_KEY) for (const id of list) ids.add(id);
  const wanted = [...ids].filter((id) => !state.customers.has(id));
  for (const part of chunks(wanted)) {
    for (const row of await db.selectFrom('customers').selectAll().where('id', 'in', part).where('merged_into', 'is', null).execute()) state.customers.set(row.id, row);
  }
  const systems = new Map<string, Set<string>>();
  for (const part of chunks([...ids])) {
    for (const r of await db.selectFrom('source_links').select(['customer_id', 'system']).where('customer_id', 'in', part).execute()) systems.set(r.customer_id, (systems.get(r.customer_id) ?? new Set()).add(r.system));
  }
  storedSystems.set(state, systems);
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
}

let nicknames: Map<string, number[]> | undefined;
const matchers = new WeakMap<BatchState, Matcher>();

function matcherFor(state: BatchState, settings: IdentitySettings): Matcher {
  let m = matchers.get(state);
  if (!m) {
    nicknames ??= buildNicknameIndex();
    m = { ctx: { nicknames }, prepare: createPreparer({ defaultCountry: settings.default_country }), cache: new Map(), index: new Map(), indexed: new Map() };
    matchers.set(state, m);
    for (const row of state.customers.values()) indexRow(m, row);
  }
  // Only the batch's own writes change customers after loading: keep their keys indexed.
  for (const id of state.dirtyCustomers) {
    const row = state.customers.get(id)!;
    if (m.indexed.get(id) !== row.version) indexRow(m, row);
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
  await refreshIdentityKeys(db, rows);
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

export interface Candidate {
  customer_id: string;
  probability: number;
  explanation: Explanation;
  /** Why an auto-link is refused, if it is. */
  conflict: string | null;
}

/**
 * Strong identifiers that must not differ for an automatic link: emails and phones both present
 * and both different; a date of birth present on both sides and different (beyond a typo or a
 * day/month swap); given names plainly different (not a typo, nickname or initial); the
 * engine's chaining guard (two personal attributes in conflict); and no identifier (email,
 * phone, date of birth, national id) agreeing exactly.
 */
export function conflictOf(a: PreparedRecord, b: PreparedRecord, levels: Level[], ctx: ComparisonContext): string | null {
  const level = (name: string): Level => levels[FIELD_COMPARATORS.findIndex((c) => c.name === name)] ?? -1;
  const top = (name: string): number => (FIELD_COMPARATORS.find((c) => c.name === name)?.levels.length ?? 0) - 1;
  if (a.email !== '' && b.email !== '' && a.phone !== '' && b.phone !== '' && level('email') < top('email') && level('phone') < top('phone')) return 'email_and_phone_differ';
  if (level('date_of_birth') === 0 || level('date_of_birth') === 1) return 'date_of_birth_differs';
  if (level('given_name') === 0) return 'given_name_differs';
  if (strongConflict(a, b, ctx)) return 'personal_attributes_conflict';
  // Name and address alone never link automatically: relatives (a Jr. at his father's address)
  // share both. One identifier must agree exactly.
  const shared = ['email', 'phone', 'date_of_birth', 'national_id'].some((f) => level(f) >= 0 && level(f) === top(f));
  return shared ? null : 'no_shared_identifier';
}

/** Scores an incoming person against the in-batch customers sharing a blocking key, best first. */
export function rankCandidates(state: BatchState, settings: IdentitySettings, incoming: Pick<Incoming, 'system' | 'person' | 'addressKey'>): Candidate[] {
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
  const out: Candidate[] = [];
  for (const id of ids) {
    const row = state.customers.get(id);
    if (!row || row.merged_into || !entryOf(m, row).keys.some((k) => keys.has(k))) continue;
    const existing = preparedOf(m, row);
    const levels = unpackPattern(comparePair(prepared, existing, m.ctx));
    const explanation = explainPair(settings.model, levels, prepared);
    // A second record from one system (a duplicate CRM contact or storefront account) is for a person to decide.
    const conflict = conflictOf(prepared, existing, levels, m.ctx) ?? (linkedSystems(state, row.id).has(system) ? 'already_linked_in_system' : null);
    out.push({ customer_id: row.id, probability: explanation.match_probability, explanation, conflict });
  }
  return out.sort((x, y) => y.probability - x.probability);
}

export type IngestDecision =
  | { band: 'auto'; candidate: Candidate }
  | { band: 'review'; candidate: Candidate; reason: string | null }
  | { band: 'reject' };

/** Bands from config, with the guards: a conflict or a second sure candidate sends an auto-link to review. */
export function decide(candidates: Candidate[], settings: IdentitySettings): IngestDecision {
  const best = candidates[0];
  if (!best || best.probability < settings.review) return { band: 'reject' };
  if (best.probability < settings.auto_link) return { band: 'review', candidate: best, reason: null };
  if (best.conflict) return { band: 'review', candidate: best, reason: best.conflict };
  const rival = candidates[1];
  if (rival && rival.probability >= settings.auto_link) return { band: 'review', candidate: best, reason: 'several_candidates' };
  return { band: 'auto', candidate: best };
}

/**
 * Identity matching of a new source record, before the flow resolves its customer. An auto-link
 * attaches the record to the existing customer (crosswalk, so `resolveCustomer` finds it); a
 * review-band match lets the record get its own customer and queues a review item for the pair
 * (in the batch transaction, once the new customer exists); a reject does nothing.
 */
export function matchIncoming(state: BatchState, settings: IdentitySettings | null | undefined, ev: CanonicalEvent, eventId: string, now: number): IngestDecision | null {
  if (settings) enabledBatches.add(state);
  const incoming = settings ? incomingOf(ev) : null;
  if (!settings || !incoming || !unresolved(state, incoming.system, incoming.externalId, incoming.person.email)) return null;
  const decision = decide(rankCandidates(state, settings, incoming), settings);
  const { system, externalId } = incoming;
  const email = normalizeEmail(incoming.person.email);
  if (decision.band === 'auto') {
    // A guest has no source id to link: its email then resolves to the customer it matched.
    if (externalId) setLink(state, system, externalId, decision.candidate.customer_id, undefined, now);
    else state.byEmail.set(email!, decision.candidate.customer_id);
    const linked = externalId ? `${system}:${externalId}` : `${system}:guest:${email}`;
    state.changeLog.push({ id: newId('chg', now), customer_id: decision.candidate.customer_id, field: 'source_link', old_value: null, new_value: linked, source_system: 'hearth', actor: `identity:auto_link p=${decision.candidate.probability.toFixed(6)}`, event_id: eventId, changed_at: now });
  } else if (decision.band === 'review') {
    const { candidate, reason } = decision;
    state.deferred.push(async (trx) => {
      const incomingId = externalId ? state.links.get(linkKey(system, externalId))?.customer_id : state.byEmail.get(email!);
      if (!incomingId || incomingId === candidate.customer_id) return;
      await queueMatchReview(trx, { existing: candidate.customer_id, incoming: incomingId, score: candidate.probability, explanation: { ...candidate.explanation, guard: reason, model: 'defaults' }, source_system: system, event_id: eventId }, now);
    });
  }
  return decision;
}
