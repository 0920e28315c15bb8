import type { Kysely } from 'kysely';
import { normalizeEmail } from '../canonical/customer.ts';
import { ERASURE_KIND, type ErasurePayload } from '../canonical/erasure.ts';
import type { CanonicalEvent } from '../canonical/types.ts';
import { lockAcrossProcesses, type DialectCaps } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { newId } from '../ids.ts';
import {
  customerSubject,
  eventIdentifiers,
  eventSubjects,
  phoneKey,
  sourceKey,
  type Identifier,
  type TombstoneHasher,
} from './erasure-hash.ts';

type Db = Kysely<Database>;

/** A configured system whose connector can erase a person, and the job target that reaches it. */
export interface ErasableSystem {
  system: string;
  target: string;
}

/** The outbox job an erasure queues (shaped like engine/jobs.ts NewJob; the caller enqueues it). */
export interface ErasureJob {
  target: string;
  kind: string;
  job_key: string;
  payload: ErasurePayload;
  origin_at: number;
  customer_id: string;
}

export interface EraseOptions {
  actor: string;
  now: number;
  caps: DialectCaps;
  hasher: TombstoneHasher;
  systems: readonly ErasableSystem[];
  /** Per connector, the person fields it may be sent (`governance.minimisation`): without `email`, none is. */
  minimisation?: Readonly<Record<string, readonly string[]>>;
  /** Writes the jobs in the erasure's transaction (engine/jobs.ts enqueueJobs). */
  enqueue: (trx: Db, jobs: ErasureJob[]) => Promise<string[]>;
}

export interface ErasureOutcome {
  id: string;
  customer_id: string;
  /** The records erased: the customer and any merged into it. */
  customer_ids: string[];
  removed: Record<string, number>;
  systems: { system: string; job_id: string | null; note: string | null }[];
}

/**
 * Erases one person in the caller's transaction: the customer row (and the records merged into
 * it), its crosswalk entries and snapshots, the values in its change log, the inbox payloads
 * that carried it, its findings, reviews, held writes and undelivered jobs, and its billing rows.
 * What stays: the ids (random, not personal), the ledger (bookkeeping, under the pseudonymous id),
 * household periods, and a tombstone of keyed hashes of its e-mails, phones and source ids. One
 * erasure job per connected system that can erase is queued in the same transaction.
 * Takes the apply lock first: no batch applies an event for this person while it is erased.
 */
export async function eraseCustomer(trx: Db, customerId: string, o: EraseOptions): Promise<ErasureOutcome> {
  await lockAcrossProcesses(trx, o.caps, 'hearth:apply');
  const family = await familyOf(trx, customerId);
  const id = newId('ers', o.now);
  const removed: Record<string, number> = {};
  const count = (table: string, n: bigint | number | undefined) => {
    removed[table] = (removed[table] ?? 0) + Number(n ?? 0);
  };

  const customers = await trx.selectFrom('customers').selectAll().where('id', 'in', family).execute();
  const links = await trx
    .selectFrom('source_links')
    .select(['system', 'external_id'])
    .where('customer_id', 'in', family)
    .execute();
  const billing = await trx
    .selectFrom('billing_accounts')
    .select(['system', 'external_id', 'email'])
    .where('customer_id', 'in', family)
    .execute();
  const lineage = await trx
    .selectFrom('change_lineage')
    .select(['id', 'changes', 'event_id'])
    .where('customer_id', 'in', family)
    .execute();

  // Every identifier the person had here: current and past e-mails and phones, and source records.
  const emails = new Set<string>();
  const phones = new Set<string>();
  const sources = new Set<string>();
  const addEmail = (v: string | null | undefined) => void (normalizeEmail(v) && emails.add(normalizeEmail(v)!));
  const addPhone = (v: string | null | undefined) => void (phoneKey(v) && phones.add(phoneKey(v)!));
  for (const c of customers) addEmail(c.email), addPhone(c.phone);
  for (const b of billing) addEmail(b.email), sources.add(sourceKey(b.system, b.external_id));
  for (const l of links) sources.add(sourceKey(l.system, l.external_id));
  for (const row of lineage)
    for (const [field, from, to] of JSON.parse(row.changes) as [string, string | null, string | null][]) {
      if (field === 'email') addEmail(from), addEmail(to);
      if (field === 'phone') addPhone(from), addPhone(to);
    }
  const identifiers: Identifier[] = [
    ...[...emails].map((value) => ({ kind: 'email' as const, value })),
    ...[...phones].map((value) => ({ kind: 'phone' as const, value })),
    ...[...sources].map((value) => ({ kind: 'source' as const, value })),
  ];

  // Inbox payloads: the events that changed it, and any (pending too) naming one of its records or e-mails.
  const eventIds = new Set(lineage.map((r) => r.event_id).filter((e): e is string => e !== null));
  for (const e of await eventsNaming(trx, links, [...emails], identifiers)) eventIds.add(e);
  // Encrypted payloads (a data key is set) do not match a text search: the subjects index does.
  for (const e of await eventsIndexed(trx, family, identifiers, o.hasher)) eventIds.add(e);
  const ids = [...eventIds];
  for (let i = 0; i < ids.length; i += 500) {
    const r = await trx
      .updateTable('inbox_events')
      .set({ payload: JSON.stringify({ erased: id }), redacted_at: o.now })
      .where('id', 'in', ids.slice(i, i + 500))
      .executeTakeFirst();
    count('inbox_events', r.numUpdatedRows);
    // Not yet applied: never will be (it would recreate the person).
    await trx
      .updateTable('inbox_events')
      .set({ status: 'ignored', error: `erased (${id})`, applied_at: o.now })
      .where('id', 'in', ids.slice(i, i + 500))
      .where('status', 'in', ['pending', 'failed'])
      .execute();
    await trx
      .deleteFrom('inbox_subjects')
      .where('event_id', 'in', ids.slice(i, i + 500))
      .execute();
  }

  // Change log: which field changed when, by whom, stays; the values go.
  for (const row of lineage) {
    const blank = (JSON.parse(row.changes) as [string, unknown, unknown][]).map(([f]) => [f, null, null]);
    await trx
      .updateTable('change_lineage')
      .set({ changes: JSON.stringify(blank), redacted_at: o.now })
      .where('id', '=', row.id)
      .execute();
  }
  count('change_lineage', lineage.length);

  // Jobs: undelivered ones are dropped (they carry the person to other systems); payloads blanked.
  // A job in flight is left to settle: its worker already holds the payload.
  const dropped = await trx
    .updateTable('jobs')
    .set({ status: 'superseded', updated_at: o.now })
    .where('customer_id', 'in', family)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  count('jobs_dropped', dropped.numUpdatedRows);
  const jobs = await trx
    .updateTable('jobs')
    .set({ payload: '{}' })
    .where('customer_id', 'in', family)
    .where('status', '!=', 'running')
    .executeTakeFirst();
  count('jobs', jobs.numUpdatedRows);

  await blankRelated(trx, family, billing, count);
  for (const link of links)
    count(
      'echo_fingerprints',
      (
        await trx
          .deleteFrom('echo_fingerprints')
          .where('system', '=', link.system)
          .where('external_id', '=', link.external_id)
          .executeTakeFirst()
      ).numDeletedRows,
    );
  count(
    'source_links',
    (await trx.deleteFrom('source_links').where('customer_id', 'in', family).executeTakeFirst()).numDeletedRows,
  );
  count('customers', (await trx.deleteFrom('customers').where('id', 'in', family).executeTakeFirst()).numDeletedRows);

  // The tombstone: keyed hashes only.
  const hashes = new Map(identifiers.map((x) => [o.hasher(x.kind, x.value), x.kind]));
  for (const [hash, kind] of hashes)
    await trx.insertInto('erasure_tombstones').values({ hash, erasure_id: id, kind, created_at: o.now }).execute();

  const root = family[0]!;
  const email = [...emails][0] ?? null;
  const planned = o.systems.map((s) => {
    const external_ids = [...new Set(links.filter((l) => l.system === s.system).map((l) => l.external_id))];
    for (const b of billing)
      if (b.system === s.system && !external_ids.includes(b.external_id)) external_ids.push(b.external_id);
    // Data minimisation: a system not allowed the e-mail is not told it now (record ids only).
    const list = o.minimisation?.[s.system];
    return { s, external_ids, email: list && !list.includes('email') ? null : email };
  });
  const toQueue = planned.filter((p) => p.external_ids.length > 0 || p.email !== null);
  const jobIds = await o.enqueue(
    trx,
    toQueue.map(({ s, external_ids, email }) => ({
      target: s.target,
      kind: ERASURE_KIND,
      job_key: `erasure:${s.system}:${root}`,
      payload: { erasure_id: id, customer_id: root, external_ids, email },
      origin_at: o.now,
      customer_id: root,
    })),
  );
  const systems = planned.map(({ s }) => {
    const k = toQueue.findIndex((p) => p.s === s);
    return k >= 0
      ? { system: s.system, job_id: jobIds[k] ?? null, note: null }
      : { system: s.system, job_id: null, note: 'no record or e-mail known for this system' };
  });
  for (const s of systems)
    await trx
      .insertInto('erasure_systems')
      .values({ erasure_id: id, system: s.system, job_id: s.job_id, note: s.note, created_at: o.now })
      .execute();
  await trx
    .insertInto('erasures')
    .values({ id, customer_id: root, actor: o.actor, removed: JSON.stringify(removed), created_at: o.now })
    .execute();
  return { id, customer_id: root, customer_ids: family, removed, systems };
}

/** The customer, resolved to the record that survived any merge, with every record merged into it. */
async function familyOf(trx: Db, customerId: string): Promise<string[]> {
  let row = await trx
    .selectFrom('customers')
    .select(['id', 'merged_into'])
    .where('id', '=', customerId)
    .executeTakeFirst();
  if (!row) throw new HearthError('not_found', `customer ${customerId} not found`);
  for (let hops = 0; row.merged_into && hops < 20; hops++) {
    const up = await trx
      .selectFrom('customers')
      .select(['id', 'merged_into'])
      .where('id', '=', row.merged_into)
      .executeTakeFirst();
    if (!up) break;
    row = up;
  }
  const family = [row.id];
  for (let frontier = [row.id]; frontier.length > 0; ) {
    const next = await trx.selectFrom('customers').select('id').where('merged_into', 'in', frontier).execute();
    frontier = next.map((r) => r.id).filter((x) => !family.includes(x));
    family.push(...frontier);
  }
  return family;
}

/**
 * Inbox events that name one of the person's records or e-mails (a substring pre-filter on the
 * stored JSON, confirmed by parsing it), so a webhook stored but not yet applied is caught too.
 */
async function eventsNaming(
  trx: Db,
  links: { system: string; external_id: string }[],
  emails: string[],
  identifiers: Identifier[],
): Promise<string[]> {
  const wanted = new Set(identifiers.map((x) => `${x.kind}\0${x.value}`));
  const patterns = [
    ...links.map((l) => ({ connector: l.system, like: `%${JSON.stringify(l.external_id)}%` })),
    ...emails.map((e) => ({ connector: null, like: `%${e}%` })),
  ];
  const found = new Set<string>();
  for (const p of patterns) {
    let q = trx.selectFrom('inbox_events').select(['id', 'payload']);
    q = p.connector
      ? q.where('connector', '=', p.connector).where('payload', 'like', p.like)
      : q.where((eb) => eb(eb.fn('lower', ['payload']), 'like', p.like));
    for (const row of await q.execute()) {
      const ev = parseEvent(row.payload);
      if (!ev) continue;
      if (eventIdentifiers(ev).some((x) => wanted.has(`${x.kind}\0${x.value}`))) found.add(row.id);
    }
  }
  return [...found];
}

/**
 * Inbox events about the person whose payloads are encrypted: those `inbox_subjects` names (by the
 * keyed hash of an e-mail or source record, or the customer id they were applied to), then every
 * encrypted payload not indexed yet (received while no index was written, pending or parked
 * failed), decrypted and read in batches. What that scan reads is indexed on the way, so the next
 * erasure does not decrypt it again. Clear payloads are left to `eventsNaming`.
 */
async function eventsIndexed(
  trx: Db,
  family: string[],
  identifiers: Identifier[],
  hasher: TombstoneHasher,
): Promise<string[]> {
  const named = identifiers.filter((x) => x.kind !== 'phone');
  const subjects = [...named.map((x) => hasher(x.kind, x.value)), ...family.map(customerSubject)];
  const found = new Set<string>();
  for (let i = 0; i < subjects.length; i += 500)
    for (const r of await trx
      .selectFrom('inbox_subjects')
      .select('event_id')
      .where('subject', 'in', subjects.slice(i, i + 500))
      .execute())
      found.add(r.event_id);
  const wanted = new Set(named.map((x) => `${x.kind}\0${x.value}`));
  for (let after = ''; ; ) {
    const rows = await trx
      .selectFrom('inbox_events as e')
      .select(['e.id', 'e.payload'])
      .where('e.id', '>', after)
      .where('e.redacted_at', 'is', null)
      .where('e.payload', 'like', 'enc1:%')
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('inbox_subjects as s').select('s.event_id').whereRef('s.event_id', '=', 'e.id'))),
      )
      .orderBy('e.id')
      .limit(500)
      .execute();
    if (rows.length === 0) break;
    after = rows[rows.length - 1]!.id;
    const index: { subject: string; event_id: string }[] = [];
    for (const row of rows) {
      const ev = parseEvent(row.payload);
      if (!ev) continue;
      if (eventIdentifiers(ev).some((x) => wanted.has(`${x.kind}\0${x.value}`))) found.add(row.id);
      for (const subject of eventSubjects(ev, hasher)) index.push({ subject, event_id: row.id });
    }
    if (index.length > 0)
      await trx
        .insertInto('inbox_subjects')
        .values(index)
        .onConflict((oc) => oc.columns(['subject', 'event_id']).doNothing())
        .execute();
  }
  return [...found];
}

/** A stored inbox payload as an event, or null (blanked, still encrypted for want of a key, not JSON). */
function parseEvent(payload: string): CanonicalEvent | null {
  try {
    const ev = JSON.parse(payload) as CanonicalEvent;
    return ev && typeof ev === 'object' && 'type' in ev ? ev : null;
  } catch {
    return null;
  }
}

/** Rows about the person elsewhere: deleted where they only describe it, values blanked where they are history. */
async function blankRelated(
  trx: Db,
  family: string[],
  billing: { system: string; external_id: string }[],
  count: (table: string, n: bigint | number | undefined) => void,
): Promise<void> {
  count(
    'identity_keys',
    (await trx.deleteFrom('identity_keys').where('customer_id', 'in', family).executeTakeFirst()).numDeletedRows,
  );
  for (const cid of family) {
    const r = await trx
      .deleteFrom('review_items')
      .where('customer_ids', 'like', `%${JSON.stringify(cid)}%`)
      .executeTakeFirst();
    count('review_items', r.numDeletedRows);
  }
  const merges = await trx
    .updateTable('merge_log')
    .set({ survivor_before: '{}', merged_before: '{}', survivor_after: '{}', moved_links: '[]' })
    .where((eb) => eb.or([eb('survivor_id', 'in', family), eb('merged_id', 'in', family)]))
    .executeTakeFirst();
  count('merge_log', merges.numUpdatedRows);
  const findings = await trx
    .updateTable('drift_findings')
    .set({ canonical_value: null, system_value: null, detail: null })
    .where('customer_id', 'in', family)
    .executeTakeFirst();
  count('drift_findings', findings.numUpdatedRows);
  const quality = await trx
    .updateTable('quality_reviews')
    .set({ old_value: null, new_value: null })
    .where('customer_id', 'in', family)
    .executeTakeFirst();
  count('quality_reviews', quality.numUpdatedRows);
  count(
    'shadow_writes',
    (await trx.deleteFrom('shadow_writes').where('customer_id', 'in', family).executeTakeFirst()).numDeletedRows,
  );
  for (const b of billing) {
    const r = await trx
      .deleteFrom('billing_subscriptions')
      .where('system', '=', b.system)
      .where('external_id', '=', b.external_id)
      .executeTakeFirst();
    count('billing_subscriptions', r.numDeletedRows);
  }
  count(
    'billing_accounts',
    (await trx.deleteFrom('billing_accounts').where('customer_id', 'in', family).executeTakeFirst()).numDeletedRows,
  );
}
