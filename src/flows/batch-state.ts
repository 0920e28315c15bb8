import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { CanonicalEvent } from '../canonical/types.ts';
import { normalizeEmail } from '../canonical/customer.ts';
import { chunks } from '../db/chunks.ts';
import type { ChangeLogTable, CustomersTable, Database, InboxStatus } from '../db/schema.ts';
import { newId } from '../ids.ts';
import { toLineage } from '../db/lineage.ts';
import { upsertSourceLinks } from '../customers/customer-store.ts';
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
  /** Customers this batch created (no row, crosswalk key, identity key or job of theirs is stored yet). */
  created: Set<string>;
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

type Deferred = BatchState['deferred'][number];

/** Deferred tasks that touch none of what other deferred work reads or writes (a match review item). */
const independentTasks = new WeakSet<Deferred>();

/**
 * Defers a task that commutes with every other deferred task (it writes only its own review item
 * and reads only the batch's memory): work queued in runs (orders) may join a run across it.
 */
export function deferIndependent(state: BatchState, task: Deferred): void {
  independentTasks.add(task);
  state.deferred.push(task);
}

/** The last deferred task whose place in the order matters (independent ones skipped). */
export function lastOrderedTask(state: BatchState): Deferred | undefined {
  for (let i = state.deferred.length - 1; i >= 0; i--)
    if (!independentTasks.has(state.deferred[i]!)) return state.deferred[i];
  return undefined;
}

const CHUNK = 200;

/** A further read into the batch before its CRM links (identity candidates, flows/identity-at-ingest.ts). */
export type BatchLoader = (db: Db, state: BatchState, events: CanonicalEvent[]) => Promise<void>;

/**
 * Loads what the batch's events can touch: their links, customers by link, Hearth id and email,
 * what `more` adds (identity candidates), the CRM links of all of them, echo fingerprints. The
 * links, the customers, the CRM links of those customers and the echo fingerprints are read with
 * one statement (a UNION ALL of one arm per list); only customers found after it (merge
 * survivors, identity candidates) have their CRM links read on their own.
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
    created: new Set(),
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
  const found = await loadRecords(db, state, events, crm, now);
  if (more) await more(db, state, events);
  if (crm) {
    for (const r of found.crm) addCrmLink(state, r);
    await loadCrmLinks(
      db,
      state,
      crm,
      [...state.customers.keys()].filter((id) => !found.covered.has(id)),
    );
  }
  return state;
}

/** Hearth ids the events' records carry (Stripe `metadata.hearth_id`): candidates for a link. */
function hearthIds(events: CanonicalEvent[]): string[] {
  return events.flatMap((ev) => (ev.type === 'contact.updated' && ev.hearth_id ? [ev.hearth_id] : []));
}

/**
 * One row of the batch's record lookup: a crosswalk entry with its customer (arms `a`: the events'
 * links, `d`: the CRM links of the customers found), a customer alone (`b`: by Hearth id, `c`: by
 * email), or an echo fingerprint (`e`: in `ord`, with its record's system and id). The link's
 * snapshot keeps its column name, so an at-rest key opens it as any read does.
 */
type FoundRow = {
  arm: string;
  ord: string | null;
  system: string | null;
  external_id: string | null;
  link_customer_id: string | null;
  snapshot: string | null;
  link_created_at: number | null;
  link_updated_at: number | null;
} & { [K in keyof CustomersTable]: CustomersTable[K] | null };

/** The link columns of a found row, read from the crosswalk (`l`). */
const LINK_ROW =
  '"l"."system", "l"."external_id", "l"."customer_id" as "link_customer_id", "l"."snapshot", ' +
  '"l"."created_at" as "link_created_at", "l"."updated_at" as "link_updated_at"';
/** The link columns after `system` and `external_id`, for an arm with no link: typed nulls. */
const NULL_LINK_TAIL =
  'cast(null as text) as "link_customer_id", cast(null as text) as "snapshot", ' +
  'cast(null as bigint) as "link_created_at", cast(null as bigint) as "link_updated_at"';
const NO_LINK = `cast(null as text) as "system", cast(null as text) as "external_id", ${NULL_LINK_TAIL}`;

/** One arm of the lookup (a SELECT with its own FROM, the common row), joined by UNION ALL. */
type Arm = RawBuilder<unknown>;

/** Arms per statement: each carries at most CHUNK values (SQLite allows 500 arms and 32,766 values). */
const ARMS_PER_STATEMENT = 16;

/**
 * Reads the events' links, their customers, customers by Hearth id and by email, the CRM links of
 * all of those and the echo fingerprints of the changes' records, with one statement (per
 * ARMS_PER_STATEMENT lists of CHUNK): they were up to five statements, each a round trip, for
 * every batch. Applies them as the separate reads did: links, customers by link and id (following
 * merges), then by email in id order (the first wins). Returns the CRM link rows (applied after
 * identity candidates, as before) and the customers they cover.
 */
async function loadRecords(
  db: Db,
  state: BatchState,
  events: CanonicalEvent[],
  crm: string | null,
  now: number,
): Promise<{ crm: FoundRow[]; covered: Set<string> }> {
  // Written as SQL, not built: the query builder spent more on these arms (every batch, 28 columns
  // each) than SQLite spent running them. The crosswalk table goes in as `sql.table`, so the
  // at-rest plugin still sees that the statement reads encrypted snapshots and opens them.
  const links = sql.table('source_links');
  const customerColumns = sql.raw(CUSTOMER_KEYS.map((k) => `"c"."${k}"`).join(', '));
  // Typed nulls: PostgreSQL resolves a UNION's column types pairwise, and null with null is text.
  const noCustomer = sql.raw(
    CUSTOMER_KEYS.map(
      (k) => `cast(null as ${k === 'version' ? 'integer' : BIGINT_KEYS.has(k) ? 'bigint' : 'text'}) as "${k}"`,
    ).join(', '),
  );
  const inList = (values: readonly string[]) => sql.join(values);
  const linkRow = sql.raw(LINK_ROW);
  const noLink = sql.raw(NO_LINK);
  const nullLinkTail = sql.raw(NULL_LINK_TAIL);
  const fromLinks = sql`from ${links} as "l" left join "customers" as "c" on "c"."id" = "l"."customer_id"`;
  const linkArm = (arm: 'a' | 'd', where: RawBuilder<unknown>): Arm =>
    sql`select ${sql.lit(arm)} as "arm", "c"."id" as "ord", ${linkRow}, ${customerColumns} ${fromLinks} where ${where}`;
  const customerArm = (arm: 'b' | 'c', where: RawBuilder<unknown>): Arm =>
    sql`select ${sql.lit(arm)} as "arm", "c"."id" as "ord", ${noLink}, ${customerColumns}
    from "customers" as "c" where ${where}`;
  const arms: Arm[] = [];
  const crmArms: Arm[] = [];
  const bySystem = new Map<string, Set<string>>();
  for (const ev of events) {
    const ext = ev.type === 'unsupported' ? null : ev.external_id;
    if (ext) bySystem.set(ev.source, (bySystem.get(ev.source) ?? new Set()).add(ext));
  }
  for (const [system, ids] of bySystem) {
    for (const part of chunks([...ids], CHUNK)) {
      arms.push(linkArm('a', sql`"l"."system" = ${system} and "l"."external_id" in (${inList(part)})`));
      if (crm)
        crmArms.push(
          linkArm(
            'd',
            sql`"l"."system" = ${crm} and "l"."customer_id" in (select "customer_id" from ${links}
            where "system" = ${system} and "external_id" in (${inList(part)}))`,
          ),
        );
    }
  }
  for (const part of chunks([...new Set(hearthIds(events))], CHUNK)) {
    arms.push(customerArm('b', sql`"c"."id" in (${inList(part)})`));
    if (crm) crmArms.push(linkArm('d', sql`"l"."system" = ${crm} and "l"."customer_id" in (${inList(part)})`));
  }
  const emails = [
    ...new Set(
      events.flatMap((ev) =>
        (ev.type === 'unsupported' ? [] : [normalizeEmail(ev.contact.email)]).filter((e): e is string => e !== null),
      ),
    ),
  ];
  for (const part of chunks(emails, CHUNK)) {
    arms.push(customerArm('c', sql`"c"."email_normalized" in (${inList(part)}) and "c"."merged_into" is null`));
    if (crm)
      crmArms.push(
        linkArm(
          'd',
          sql`"l"."system" = ${crm} and "l"."customer_id" in (select "id" from "customers"
          where "email_normalized" in (${inList(part)}) and "merged_into" is null)`,
        ),
      );
  }
  // Fingerprints of our recent writes to the records these changes come from (not for our own echoes).
  const echoed = new Map<string, Set<string>>();
  for (const ev of events)
    if (ev.type === 'contact.updated' && !ev.origin_is_hearth)
      echoed.set(ev.source, (echoed.get(ev.source) ?? new Set()).add(ev.external_id));
  for (const [system, ids] of echoed)
    for (const part of chunks([...ids], CHUNK))
      arms.push(
        sql`select 'e' as "arm", "e"."fingerprint" as "ord", "e"."system", "e"."external_id", ${nullLinkTail},
        ${noCustomer} from "echo_fingerprints" as "e" where "e"."system" = ${system}
        and "e"."external_id" in (${inList(part)}) and "e"."created_at" >= ${now - ECHO_TTL_MS}`,
      );
  const rows: FoundRow[] = [];
  const all = [...arms, ...crmArms];
  for (let i = 0; i < all.length; i += ARMS_PER_STATEMENT) {
    const q = sql<FoundRow>`${sql.join(all.slice(i, i + ARMS_PER_STATEMENT), sql` union all `)} order by 1, 2`;
    rows.push(...(await q.execute(db)).rows);
  }
  const of = (arm: string) => rows.filter((r) => r.arm === arm);
  const covered = new Set<string>();
  for (const r of of('a')) {
    state.links.set(linkKey(r.system!, r.external_id!), {
      system: r.system!,
      external_id: r.external_id!,
      customer_id: r.link_customer_id!,
      snapshot: r.snapshot ? JSON.parse(r.snapshot) : null,
      created_at: r.link_created_at!,
    });
    covered.add(r.link_customer_id!);
    if (r.id !== null) state.customers.set(r.id, customerOf(r));
  }
  for (const r of of('b')) {
    covered.add(r.id!);
    state.customers.set(r.id!, customerOf(r));
  }
  // Survivors of merged customers, as the read by id followed them.
  await loadCustomers(
    db,
    state,
    [...state.customers.values()].flatMap((c) => (c.merged_into ? [c.merged_into] : [])),
  );
  for (const r of of('c')) {
    covered.add(r.id!);
    if (!state.customers.has(r.id!)) state.customers.set(r.id!, customerOf(r));
    if (!state.byEmail.has(r.email_normalized!)) state.byEmail.set(r.email_normalized!, r.id!);
  }
  for (const r of of('e')) {
    const key = linkKey(r.system!, r.external_id!);
    state.echoes.set(key, (state.echoes.get(key) ?? new Set()).add(r.ord!));
  }
  // The CRM's links, by last update (the latest link of a customer wins); an arm may repeat one.
  const seen = new Set<string>();
  const crmRows = of('d')
    .filter((r) => {
      const key = linkKey(r.system!, r.external_id!);
      return !seen.has(key) && Boolean(seen.add(key));
    })
    .sort((x, y) => x.link_updated_at! - y.link_updated_at!);
  return { crm: crmRows, covered };
}

const CUSTOMER_KEYS = [
  'id',
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
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof CustomersTable)[];
/** Every customer column is read (a column added to the table and not here fails to compile). */
const everyColumn: Exclude<keyof CustomersTable, (typeof CUSTOMER_KEYS)[number]> extends never ? true : never = true;
void everyColumn;
const BIGINT_KEYS = new Set<string>(['address_validated_at', 'created_at', 'updated_at']);

/** The customer columns of a found row, as `selectAll` from customers returns them. */
function customerOf(r: FoundRow): CustomersTable {
  return Object.fromEntries(CUSTOMER_KEYS.map((k) => [k, r[k]])) as unknown as CustomersTable;
}

function addCrmLink(
  state: BatchState,
  r: Pick<FoundRow, 'system' | 'external_id' | 'link_customer_id' | 'snapshot' | 'link_created_at'>,
): void {
  const key = linkKey(r.system!, r.external_id!);
  const link = state.links.get(key) ?? {
    system: r.system!,
    external_id: r.external_id!,
    customer_id: r.link_customer_id!,
    snapshot: r.snapshot ? JSON.parse(r.snapshot) : null,
    created_at: r.link_created_at!,
  };
  state.links.set(key, link);
  state.crmLinks.set(r.link_customer_id!, link);
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

/** The CRM links of these customers (the ones the record lookup did not cover). */
async function loadCrmLinks(db: Db, state: BatchState, crm: string, customerIds: string[]): Promise<void> {
  for (const part of chunks(customerIds, CHUNK)) {
    const rows = await db
      .selectFrom('source_links')
      .selectAll()
      .where('system', '=', crm)
      .where('customer_id', 'in', part)
      .orderBy('updated_at')
      .execute();
    for (const r of rows) addCrmLink(state, { ...r, link_customer_id: r.customer_id, link_created_at: r.created_at });
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
  state.created.add(row.id);
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
  await enqueueJobs(db, state.jobs, maxAttempts, now, { newCustomers: state.created });
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

/** The columns an upsert of an existing customer overwrites: all but its id and creation time. */
const CUSTOMER_COLUMNS = CUSTOMER_KEYS.filter((k) => k !== 'id' && k !== 'created_at');

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
  await upsertSourceLinks(db, rows);
}
