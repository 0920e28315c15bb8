import type { Kysely } from 'kysely';
import type { CanonicalEvent } from '../canonical/types.ts';
import { normalizeEmail } from '../canonical/customer.ts';
import { chunks } from '../db/chunks.ts';
import type { ChangeLogTable, CustomersTable, Database, InboxStatus } from '../db/schema.ts';
import { newId } from '../ids.ts';
import { toLineage } from '../db/lineage.ts';
import { ECHO_TTL_MS, fingerprint } from '../engine/echo.ts';
import { enqueueJobs, type NewJob } from '../engine/jobs.ts';

type Db = Kysely<Database>;

/** A crosswalk entry as the batch sees it. */
export interface LinkState {
  system: string;
  external_id: string;
  customer_id: string;
  snapshot: Record<string, string | null> | null;
  created_at: number;
}

/**
 * Everything one batch of events reads and writes, held in memory: rows are loaded with a few
 * set queries up front, the flows change them here, and `flushBatch` writes them back with a
 * few set statements. Events later in a batch see the changes of earlier ones.
 */
export interface BatchState {
  customers: Map<string, CustomersTable>;
  dirtyCustomers: Set<string>;
  /** The id of each customer write in this batch, in order (the identity matcher indexes each once). */
  customerEdits: string[];
  /** By `system \0 external_id`. */
  links: Map<string, LinkState>;
  dirtyLinks: Set<string>;
  byEmail: Map<string, string>;
  /** The write-back CRM's link per customer (the same objects as in `links`). */
  crmLinks: Map<string, LinkState>;
  /** Fingerprints of our recent writes, by `system \0 external_id`. */
  echoes: Map<string, Set<string>>;
  changeLog: ChangeLogTable[];
  jobs: NewJob[];
  statuses: Map<InboxStatus, string[]>;
  /**
   * Work that needs the database (ledger entries, household membership, identity review items),
   * run by `flushBatch` after the rows above are written, in the same transaction and in order.
   */
  deferred: ((trx: Db) => Promise<void>)[];
}

export const linkKey = (system: string, externalId: string): string => `${system}\u0000${externalId}`;

const CHUNK = 200;

/** A further read into the batch before its CRM links (identity candidates, flows/identity-at-ingest.ts). */
export type BatchLoader = (db: Db, state: BatchState, events: CanonicalEvent[]) => Promise<void>;

/**
 * Loads what the batch's events can touch: their links, customers by link and email, what
 * `more` adds (identity candidates), the CRM links of all of them, echo fingerprints.
 */
export async function loadBatch(
  db: Db,
  events: CanonicalEvent[],
  crm: string | null,
  now: number,
  more?: BatchLoader,
): Promise<BatchState> {
  const state: BatchState = {
    customers: new Map(),
    dirtyCustomers: new Set(),
    customerEdits: [],
    links: new Map(),
    dirtyLinks: new Set(),
    byEmail: new Map(),
    crmLinks: new Map(),
    echoes: new Map(),
    changeLog: [],
    jobs: [],
    statuses: new Map(),
    deferred: [],
  };
  await loadLinks(db, state, events);
  await loadCustomers(db, state, [...state.links.values()].map((l) => l.customer_id).concat(hearthIds(events)));
  await loadByEmail(db, state, events);
  if (more) await more(db, state, events);
  if (crm) await loadCrmLinks(db, state, crm);
  await loadEchoes(db, state, events, now);
  return state;
}

/** Hearth ids the events' records carry (Stripe `metadata.hearth_id`): candidates for a link. */
function hearthIds(events: CanonicalEvent[]): string[] {
  return events.flatMap((ev) => (ev.type === 'contact.updated' && ev.hearth_id ? [ev.hearth_id] : []));
}

async function loadLinks(db: Db, state: BatchState, events: CanonicalEvent[]): Promise<void> {
  const bySystem = new Map<string, Set<string>>();
  for (const ev of events) {
    const ext = ev.type === 'unsupported' ? null : ev.external_id;
    if (ext) bySystem.set(ev.source, (bySystem.get(ev.source) ?? new Set()).add(ext));
  }
  for (const [system, ids] of bySystem) {
    for (const part of chunks([...ids], CHUNK)) {
      const rows = await db
        .selectFrom('source_links')
        .selectAll()
        .where('system', '=', system)
        .where('external_id', 'in', part)
        .execute();
      for (const r of rows)
        state.links.set(linkKey(r.system, r.external_id), {
          system: r.system,
          external_id: r.external_id,
          customer_id: r.customer_id,
          snapshot: r.snapshot ? JSON.parse(r.snapshot) : null,
          created_at: r.created_at,
        });
    }
  }
}

/** Loads customers by id, following `merged_into` to the survivors. */
async function loadCustomers(db: Db, state: BatchState, ids: string[]): Promise<void> {
  let wanted = [...new Set(ids)].filter((id) => !state.customers.has(id));
  for (let depth = 0; wanted.length > 0 && depth < 5; depth++) {
    const next: string[] = [];
    for (const part of chunks(wanted, CHUNK)) {
      for (const row of await db.selectFrom('customers').selectAll().where('id', 'in', part).execute()) {
        state.customers.set(row.id, row);
        if (row.merged_into) next.push(row.merged_into);
      }
    }
    wanted = next.filter((id) => !state.customers.has(id));
  }
}

async function loadByEmail(db: Db, state: BatchState, events: CanonicalEvent[]): Promise<void> {
  const emails = [
    ...new Set(
      events.flatMap((ev) =>
        (ev.type === 'unsupported' ? [] : [normalizeEmail(ev.contact.email)]).filter((e): e is string => e !== null),
      ),
    ),
  ];
  for (const part of chunks(emails, CHUNK)) {
    const rows = await db
      .selectFrom('customers')
      .selectAll()
      .where('email_normalized', 'in', part)
      .where('merged_into', 'is', null)
      .orderBy('id')
      .execute();
    for (const row of rows) {
      if (!state.customers.has(row.id)) state.customers.set(row.id, row);
      if (!state.byEmail.has(row.email_normalized!)) state.byEmail.set(row.email_normalized!, row.id);
    }
  }
}

async function loadCrmLinks(db: Db, state: BatchState, crm: string): Promise<void> {
  for (const part of chunks([...state.customers.keys()], CHUNK)) {
    const rows = await db
      .selectFrom('source_links')
      .selectAll()
      .where('system', '=', crm)
      .where('customer_id', 'in', part)
      .orderBy('updated_at')
      .execute();
    for (const r of rows) {
      const key = linkKey(r.system, r.external_id);
      const link = state.links.get(key) ?? {
        system: r.system,
        external_id: r.external_id,
        customer_id: r.customer_id,
        snapshot: r.snapshot ? JSON.parse(r.snapshot) : null,
        created_at: r.created_at,
      };
      state.links.set(key, link);
      state.crmLinks.set(r.customer_id, link);
    }
  }
}

async function loadEchoes(db: Db, state: BatchState, events: CanonicalEvent[], now: number): Promise<void> {
  const updates = events.filter(
    (e): e is Extract<CanonicalEvent, { type: 'contact.updated' }> =>
      e.type === 'contact.updated' && !e.origin_is_hearth,
  );
  const bySystem = new Map<string, Set<string>>();
  for (const ev of updates) bySystem.set(ev.source, (bySystem.get(ev.source) ?? new Set()).add(ev.external_id));
  for (const [system, ids] of bySystem) {
    for (const part of chunks([...ids], CHUNK)) {
      const rows = await db
        .selectFrom('echo_fingerprints')
        .select(['external_id', 'fingerprint'])
        .where('system', '=', system)
        .where('external_id', 'in', part)
        .where('created_at', '>=', now - ECHO_TTL_MS)
        .execute();
      for (const r of rows) {
        const key = linkKey(system, r.external_id);
        state.echoes.set(key, (state.echoes.get(key) ?? new Set()).add(r.fingerprint));
      }
    }
  }
}

/** Is this change the echo of our own write? Every property it reports carries a value we wrote. */
export function isEcho(
  state: BatchState,
  system: string,
  externalId: string,
  vendorFields: Record<string, string | null>,
): boolean {
  const known = state.echoes.get(linkKey(system, externalId));
  const wanted = Object.entries(vendorFields).map(([p, v]) => fingerprint(p, v));
  return Boolean(known) && wanted.length > 0 && wanted.every((f) => known!.has(f));
}

/** The crosswalk first, then an exact (normalised) email, else a new customer; the crosswalk learns the link. */
export function resolveCustomer(
  state: BatchState,
  system: string,
  externalId: string | null,
  email: string | null | undefined,
  now: number,
  hearthId?: string | null,
): CustomersTable {
  const linked = externalId ? state.links.get(linkKey(system, externalId)) : undefined;
  if (linked) return survivor(state, linked.customer_id) ?? createCustomer(state, now);
  // The Hearth id the record carries (Stripe metadata.hearth_id), when it names a known customer.
  const named = hearthId ? survivor(state, hearthId) : undefined;
  const normalized = normalizeEmail(email);
  const byEmail = normalized ? state.byEmail.get(normalized) : undefined;
  const row = named ?? (byEmail ? state.customers.get(byEmail) : undefined) ?? createCustomer(state, now);
  if (externalId) setLink(state, system, externalId, row.id, undefined, now);
  return row;
}

function survivor(state: BatchState, id: string): CustomersTable | undefined {
  let row = state.customers.get(id);
  for (let i = 0; row?.merged_into && i < 5; i++) row = state.customers.get(row.merged_into);
  return row;
}

function createCustomer(state: BatchState, now: number): CustomersTable {
  const row: CustomersTable = {
    id: newId('cus', now),
    given_name: null,
    family_name: null,
    email: null,
    email_normalized: null,
    phone: null,
    address_line1: null,
    address_line2: null,
    city: null,
    region: null,
    postal_code: null,
    country: null,
    address_key: null,
    address_source: null,
    address_validated_at: null,
    field_sources: '{}',
    merged_into: null,
    version: 1,
    created_at: now,
    updated_at: now,
  };
  state.customers.set(row.id, row);
  state.dirtyCustomers.add(row.id);
  state.customerEdits.push(row.id);
  return row;
}

/** Records or refreshes a crosswalk entry; `fields` (vendor properties) merge into its snapshot. */
export function setLink(
  state: BatchState,
  system: string,
  externalId: string,
  customerId: string,
  fields: Record<string, string | null> | undefined,
  now: number,
): LinkState {
  const key = linkKey(system, externalId);
  const link = state.links.get(key) ?? {
    system,
    external_id: externalId,
    customer_id: customerId,
    snapshot: null,
    created_at: now,
  };
  link.customer_id = customerId;
  if (fields) link.snapshot = { ...(link.snapshot ?? {}), ...fields };
  state.links.set(key, link);
  state.dirtyLinks.add(key);
  return link;
}

export function updateCustomer(state: BatchState, next: CustomersTable): void {
  state.customers.set(next.id, next);
  state.dirtyCustomers.add(next.id);
  state.customerEdits.push(next.id);
  if (next.email_normalized && !state.byEmail.has(next.email_normalized))
    state.byEmail.set(next.email_normalized, next.id);
}

export function settle(state: BatchState, eventId: string, status: InboxStatus): void {
  state.statuses.set(status, [...(state.statuses.get(status) ?? []), eventId]);
}

/** Writes the batch back: customers and links as upserts, change log and jobs as inserts, event statuses. */
export async function flushBatch(db: Db, state: BatchState, maxAttempts: number, now: number): Promise<void> {
  await upsertCustomers(
    db,
    [...state.dirtyCustomers].map((id) => state.customers.get(id)!),
  );
  await upsertLinks(
    db,
    [...state.dirtyLinks].map((k) => state.links.get(k)!),
    now,
  );
  for (const part of chunks(toLineage(state.changeLog), CHUNK))
    await db.insertInto('change_lineage').values(part).execute();
  await enqueueJobs(db, state.jobs, maxAttempts, now);
  for (const task of state.deferred) await task(db);
  for (const [status, ids] of state.statuses) {
    for (const part of chunks(ids, CHUNK)) {
      await db
        .updateTable('inbox_events')
        .set((eb) => ({ status, applied_at: now, attempts: eb('attempts', '+', 1) }))
        .where('id', 'in', part)
        .execute();
    }
  }
}

const CUSTOMER_COLUMNS = [
  'given_name',
  'family_name',
  'email',
  'email_normalized',
  'phone',
  'address_line1',
  'address_line2',
  'city',
  'region',
  'postal_code',
  'country',
  'address_key',
  'address_source',
  'address_validated_at',
  'field_sources',
  'merged_into',
  'version',
  'updated_at',
] as const;

async function upsertCustomers(db: Db, rows: CustomersTable[]): Promise<void> {
  for (const part of chunks(rows, CHUNK)) {
    await db
      .insertInto('customers')
      .values(part)
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet((eb) => Object.fromEntries(CUSTOMER_COLUMNS.map((c) => [c, eb.ref(`excluded.${c}`)]))),
      )
      .execute();
  }
}

async function upsertLinks(db: Db, links: LinkState[], now: number): Promise<void> {
  const rows = links.map((l) => ({
    system: l.system,
    external_id: l.external_id,
    customer_id: l.customer_id,
    snapshot: l.snapshot ? JSON.stringify(l.snapshot) : null,
    created_at: l.created_at,
    updated_at: now,
  }));
  for (const part of chunks(rows, CHUNK)) {
    await db
      .insertInto('source_links')
      .values(part)
      .onConflict((oc) =>
        oc.columns(['system', 'external_id']).doUpdateSet((eb) => ({
          customer_id: eb.ref('excluded.customer_id'),
          snapshot: eb.ref('excluded.snapshot'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }
}
