import type { Kysely } from 'kysely';
import type { ChangeLogTable, CustomersTable, Database, MergeLogTable, SourceLinksTable } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { newId } from '../ids.ts';
import { toLineage } from '../db/lineage.ts';
import { refreshIdentityKeys } from './ingest-model.ts';

type Db = Kysely<Database>;

/** Runs `fn` in the caller's transaction, or in a new one. */
export function inTransaction<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

export interface MergeOptions {
  /** Who decided: `operator:<key id>`, `identity:auto`... */
  actor: string;
  reviewId?: string | null;
  now: number;
}

export interface MergeOutcome {
  merge_id: string;
  survivor: CustomersTable;
  merged: CustomersTable;
  moved_links: { system: string; external_id: string }[];
}

// Columns that are bookkeeping rather than data: never restored, never logged as a change.
const BOOKKEEPING = new Set(['id', 'version', 'created_at', 'updated_at']);
const ADDRESS_GROUP = [
  'address_line1',
  'address_line2',
  'city',
  'region',
  'postal_code',
  'country',
  'address_key',
  'address_source',
  'address_validated_at',
] as const;
const SINGLE_FIELDS = [['given_name'], ['family_name'], ['email', 'email_normalized'], ['phone']] as const;

/** Follows `merged_into` to the surviving customer's id. */
export async function survivorId(db: Db, id: string): Promise<string | undefined> {
  let current = id;
  for (let depth = 0; depth < 10; depth++) {
    const row = await db
      .selectFrom('customers')
      .select(['id', 'merged_into'])
      .where('id', '=', current)
      .executeTakeFirst();
    if (!row) return undefined;
    if (!row.merged_into) return row.id;
    current = row.merged_into;
  }
  return current;
}

async function mustGet(db: Db, id: string): Promise<CustomersTable> {
  const row = await db.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new HearthError('not_found', `customer ${id} not found`);
  return row;
}

/**
 * The survivor keeps its values; where it has none, it takes the merged record's (the address
 * as a whole, never mixed). Which system set each adopted field moves along in `field_sources`.
 */
export function mergedValues(a: CustomersTable, b: CustomersTable): Partial<CustomersTable> {
  const out: Record<string, unknown> = {};
  const sources = JSON.parse(a.field_sources || '{}') as Record<string, unknown>;
  const bSources = JSON.parse(b.field_sources || '{}') as Record<string, unknown>;
  for (const group of SINGLE_FIELDS) {
    if (a[group[0]] === null && b[group[0]] !== null) {
      for (const c of group) out[c] = b[c];
      if (bSources[group[0]] !== undefined) sources[group[0]] = bSources[group[0]];
    }
  }
  if (a.address_line1 === null && b.address_line1 !== null) {
    for (const c of ADDRESS_GROUP) out[c] = b[c];
    if (bSources.address !== undefined) sources.address = bSources.address;
  }
  if (Object.keys(out).length > 0) out.field_sources = JSON.stringify(sources);
  return out as Partial<CustomersTable>;
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function changeRows(before: CustomersTable, after: CustomersTable, actor: string, now: number): ChangeLogTable[] {
  return Object.keys(after)
    .filter(
      (c) =>
        !BOOKKEEPING.has(c) &&
        c !== 'field_sources' &&
        str(before[c as keyof CustomersTable]) !== str(after[c as keyof CustomersTable]),
    )
    .map((c) => ({
      id: newId('chg', now),
      customer_id: after.id,
      field: c,
      old_value: str(before[c as keyof CustomersTable]),
      new_value: str(after[c as keyof CustomersTable]),
      source_system: 'hearth',
      actor,
      event_id: null,
      changed_at: now,
    }));
}

/** Writes a customer row if its version is still `expected` (someone else changing it is a conflict). */
async function writeRow(db: Db, next: CustomersTable, expected: number): Promise<void> {
  const { id, created_at: _c, ...rest } = next;
  const res = await db
    .updateTable('customers')
    .set(rest)
    .where('id', '=', id)
    .where('version', '=', expected)
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) !== 1)
    throw new HearthError('conflict', `customer ${id} changed meanwhile; try again`);
}

/**
 * Merges customer B into A in one transaction: A adopts what it lacks from B, B points at A
 * (`merged_into`, so B's id stays resolvable), B's crosswalk entries move to A, both changes go
 * to the change log, and the merge log keeps both prior rows and the moved entries for unmerge.
 */
export async function mergeCustomers(
  db: Db,
  survivorIdArg: string,
  mergedIdArg: string,
  opts: MergeOptions,
): Promise<MergeOutcome> {
  if (survivorIdArg === mergedIdArg) throw new HearthError('bad_request', 'cannot merge a customer into itself');
  return inTransaction(db, async (trx) => {
    const a = await mustGet(trx, survivorIdArg);
    const b = await mustGet(trx, mergedIdArg);
    for (const r of [a, b])
      if (r.merged_into) throw new HearthError('conflict', `customer ${r.id} is already merged into ${r.merged_into}`);
    const aAfter: CustomersTable = { ...a, ...mergedValues(a, b), version: a.version + 1, updated_at: opts.now };
    const bAfter: CustomersTable = { ...b, merged_into: a.id, version: b.version + 1, updated_at: opts.now };
    await writeRow(trx, aAfter, a.version);
    await writeRow(trx, bAfter, b.version);
    const links = await trx
      .selectFrom('source_links')
      .selectAll()
      .where('customer_id', '=', b.id)
      .orderBy('system')
      .orderBy('external_id')
      .execute();
    await trx
      .updateTable('source_links')
      .set({ customer_id: a.id, updated_at: opts.now })
      .where('customer_id', '=', b.id)
      .execute();
    const mergeId = newId('mrg', opts.now);
    const moved = links.map((l) => ({ system: l.system, external_id: l.external_id }));
    const log = [...changeRows(a, aAfter, opts.actor, opts.now), ...changeRows(b, bAfter, opts.actor, opts.now)];
    log.push(
      ...moved.map((l) => ({
        id: newId('chg', opts.now),
        customer_id: a.id,
        field: 'source_link',
        old_value: `${b.id} ${l.system}:${l.external_id}`,
        new_value: `${a.id} ${l.system}:${l.external_id}`,
        source_system: 'hearth',
        actor: opts.actor,
        event_id: mergeId,
        changed_at: opts.now,
      })),
    );
    for (const row of log) row.event_id ??= mergeId;
    if (log.length > 0) await trx.insertInto('change_lineage').values(toLineage(log)).execute();
    await trx
      .insertInto('merge_log')
      .values({
        id: mergeId,
        action: 'merge',
        survivor_id: a.id,
        merged_id: b.id,
        survivor_before: JSON.stringify(a),
        merged_before: JSON.stringify(b),
        survivor_after: JSON.stringify(aAfter),
        moved_links: JSON.stringify(links),
        undoes: null,
        undone_by: null,
        review_id: opts.reviewId ?? null,
        actor: opts.actor,
        created_at: opts.now,
      })
      .execute();
    await refreshIdentityKeys(trx, [aAfter, bAfter]);
    return { merge_id: mergeId, survivor: aAfter, merged: bAfter, moved_links: moved };
  });
}

export interface UnmergeOutcome {
  unmerge_id: string;
  merge_id: string;
  survivor: CustomersTable;
  restored: CustomersTable;
  /** Survivor fields changed since the merge: they keep their newer value. */
  kept_fields: string[];
}

/**
 * Undoes the latest merge of `mergedId`, in one transaction: B gets back its prior data and is
 * no longer merged; A gets back its prior values for every field the merge set and nothing has
 * changed since (a newer value is kept and reported); B's crosswalk entries return to it (with
 * their prior rows when untouched since). Versions move forward; an unmerge row joins the log.
 */
export async function unmergeCustomer(db: Db, mergedId: string, opts: MergeOptions): Promise<UnmergeOutcome> {
  return inTransaction(db, async (trx) => {
    const b = await mustGet(trx, mergedId);
    if (!b.merged_into) throw new HearthError('conflict', `customer ${mergedId} is not merged`);
    const merge = await trx
      .selectFrom('merge_log')
      .selectAll()
      .where('merged_id', '=', mergedId)
      .where('action', '=', 'merge')
      .where('undone_by', 'is', null)
      .orderBy('id', 'desc')
      .executeTakeFirst();
    if (!merge || merge.survivor_id !== b.merged_into)
      throw new HearthError('conflict', `customer ${mergedId} has no merge log entry to undo`);
    const a = await mustGet(trx, merge.survivor_id);
    if (a.merged_into)
      throw new HearthError('conflict', `customer ${a.id} was merged into ${a.merged_into} since; unmerge that first`);
    const { restoredA, kept } = restoreSurvivor(a, merge, opts.now);
    const restoredB: CustomersTable = {
      ...(JSON.parse(merge.merged_before) as CustomersTable),
      version: b.version + 1,
      updated_at: opts.now,
    };
    await writeRow(trx, restoredA, a.version);
    await writeRow(trx, restoredB, b.version);
    await restoreLinks(trx, merge, opts.now);
    const unmergeId = newId('mrg', opts.now);
    const log = [
      ...changeRows(a, restoredA, opts.actor, opts.now),
      ...changeRows(b, restoredB, opts.actor, opts.now),
    ].map((r) => ({ ...r, event_id: unmergeId }));
    if (log.length > 0) await trx.insertInto('change_lineage').values(toLineage(log)).execute();
    await trx
      .insertInto('merge_log')
      .values({
        id: unmergeId,
        action: 'unmerge',
        survivor_id: a.id,
        merged_id: b.id,
        survivor_before: JSON.stringify(a),
        merged_before: JSON.stringify(b),
        survivor_after: JSON.stringify(restoredA),
        moved_links: merge.moved_links,
        undoes: merge.id,
        undone_by: null,
        review_id: null,
        actor: opts.actor,
        created_at: opts.now,
      })
      .execute();
    await trx.updateTable('merge_log').set({ undone_by: unmergeId }).where('id', '=', merge.id).execute();
    await refreshIdentityKeys(trx, [restoredA, restoredB]);
    return { unmerge_id: unmergeId, merge_id: merge.id, survivor: restoredA, restored: restoredB, kept_fields: kept };
  });
}

function restoreSurvivor(
  current: CustomersTable,
  merge: MergeLogTable,
  now: number,
): { restoredA: CustomersTable; kept: string[] } {
  const before = JSON.parse(merge.survivor_before) as Record<string, unknown>;
  const after = JSON.parse(merge.survivor_after) as Record<string, unknown>;
  const next: Record<string, unknown> = { ...current };
  const kept: string[] = [];
  for (const c of Object.keys(before)) {
    if (BOOKKEEPING.has(c) || str(before[c]) === str(after[c])) continue;
    if (str(current[c as keyof CustomersTable]) === str(after[c])) next[c] = before[c];
    else kept.push(c);
  }
  return { restoredA: { ...(next as unknown as CustomersTable), version: current.version + 1, updated_at: now }, kept };
}

async function restoreLinks(db: Db, merge: MergeLogTable, now: number): Promise<void> {
  const moved = JSON.parse(merge.moved_links) as SourceLinksTable[];
  for (const l of moved) {
    const current = await db
      .selectFrom('source_links')
      .selectAll()
      .where('system', '=', l.system)
      .where('external_id', '=', l.external_id)
      .executeTakeFirst();
    if (!current || current.customer_id !== merge.survivor_id) continue;
    // Untouched since the merge: the entry comes back exactly; else it keeps its newer snapshot.
    const untouched = current.updated_at === merge.created_at && current.snapshot === l.snapshot;
    const set = untouched
      ? { customer_id: merge.merged_id, updated_at: l.updated_at }
      : { customer_id: merge.merged_id, updated_at: now };
    await db
      .updateTable('source_links')
      .set(set)
      .where('system', '=', l.system)
      .where('external_id', '=', l.external_id)
      .execute();
  }
}
