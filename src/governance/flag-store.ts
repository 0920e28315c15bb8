import { sql, type Kysely } from 'kysely';
import type { Database, FlagChangesTable } from '../db/schema.ts';
import { newId } from '../ids.ts';
import { FlagSnapshot } from './flags.ts';

type Db = Kysely<Database>;

export interface FlagChange {
  name: string;
  from: string | null;
  to: string;
}

/**
 * Sets a flag and appends who changed it, when, from what to what, in the caller's transaction.
 * Setting a flag to the value it has records nothing and returns null.
 */
export async function setFlag(
  trx: Db,
  name: string,
  value: string,
  actor: string,
  now: number,
  reason: string | null = null,
): Promise<FlagChange | null> {
  const row = await trx.selectFrom('feature_flags').select('value').where('name', '=', name).executeTakeFirst();
  const from = row?.value ?? null;
  if (from === value) return null;
  await trx
    .insertInto('feature_flags')
    .values({ name, value, updated_by: actor, updated_at: now })
    .onConflict((oc) => oc.column('name').doUpdateSet({ value, updated_by: actor, updated_at: now }))
    .execute();
  await trx
    .insertInto('flag_changes')
    .values({ id: newId('flg', now), name, from_value: from, to_value: value, actor, reason, changed_at: now })
    .execute();
  return { name, from, to: value };
}

export async function listSetFlags(db: Db) {
  return db.selectFrom('feature_flags').selectAll().orderBy('name').execute();
}

/** The audit trail of flag changes, newest first. */
export async function flagChanges(db: Db, limit: number, after?: string): Promise<FlagChangesTable[]> {
  let q = db.selectFrom('flag_changes').selectAll().orderBy('id', 'desc').limit(limit);
  if (after) q = q.where('id', '<', after);
  return q.execute();
}

/** The flags' version: the number of changes ever made (the table is append-only). */
export async function flagsVersion(db: Db): Promise<number> {
  const r = await sql<{ n: number | string }>`select count(*) as n from flag_changes`.execute(db);
  return Number(r.rows[0]?.n ?? 0);
}

export async function readFlags(db: Db): Promise<FlagSnapshot> {
  const version = await flagsVersion(db);
  const rows = await db.selectFrom('feature_flags').select(['name', 'value']).execute();
  return new FlagSnapshot(version, new Map(rows.map((r) => [r.name, r.value])));
}

/**
 * The flags as every process reads them: one `count(*)` per call, and the flags themselves only
 * when the version moved. Callers ask once per batch, so a change made mid-batch applies from
 * the next batch, in every process, without a restart.
 */
export interface FlagReader {
  /** The flags now; pass the batch's transaction when inside one (SQLite has one connection). */
  current(trx?: Db): Promise<FlagSnapshot>;
}

export function createFlagReader(base: Db): FlagReader {
  let snapshot: FlagSnapshot | null = null;
  return {
    current: async (trx) => {
      const db = trx ?? base;
      const version = await flagsVersion(db);
      if (!snapshot || snapshot.version !== version) snapshot = await readFlags(db);
      return snapshot;
    },
  };
}
