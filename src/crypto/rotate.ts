import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.ts';
import { allUnder, resealValue } from './at-rest.ts';
import type { DataCipher } from './data-keys.ts';
import { LOOKUP_CHECK_ID } from './key-check.ts';

type Kind = 'whole' | 'lineage';

/** A table with encrypted values: its row key (for resumable keyset paging) and the columns. */
interface Target {
  table: string;
  key: string[];
  columns: { column: string; kind: Kind }[];
}

const whole = (column: string) => ({ column, kind: 'whole' as const });
const TARGETS: Target[] = [
  { table: 'source_links', key: ['system', 'external_id'], columns: [whole('snapshot')] },
  { table: 'inbox_events', key: ['id'], columns: [whole('payload')] },
  { table: 'change_lineage', key: ['id'], columns: [{ column: 'changes', kind: 'lineage' }] },
  { table: 'quality_reviews', key: ['id'], columns: [whole('old_value'), whole('new_value')] },
  {
    table: 'drift_findings',
    key: ['id'],
    columns: [whole('canonical_value'), whole('system_value'), whole('detail')],
  },
];

/** The tables and columns rotation covers (a test checks they are exactly what the plugin encrypts). */
export const ROTATED: readonly { table: string; column: string; kind: Kind }[] = TARGETS.flatMap((t) =>
  t.columns.map((c) => ({ table: t.table, ...c })),
);

export interface RotationProgress {
  table: string;
  /** Rows looked at in this table so far (this pass) and how many were re-encrypted. */
  scanned: number;
  rewritten: number;
}

export interface RotateOptions {
  batch?: number;
  onBatch?: (p: RotationProgress) => void;
  now?: () => number;
  /** Stops between batches (what was done stays done; the next pass resumes after it). */
  signal?: AbortSignal;
  /** A pause between batches, so a rotation inside a live process leaves room for its work. */
  pause_ms?: number;
}

/**
 * Re-encrypts every stored value (and any value still in clear) under the current data key, in
 * batches of `batch` rows, each batch one transaction that also records where it stopped: a
 * crash or Ctrl-C resumes from there. A row is rewritten only if it still holds what was read
 * (compare-and-set), so a live Hearth writing the same row meanwhile wins (it wrote under the
 * current key anyway). Works on the raw database handle: it reads and writes stored values as they are.
 * Returns the rows rewritten per table.
 */
export async function rotateDataKey(
  raw: Kysely<Database>,
  cipher: DataCipher,
  o: RotateOptions = {},
): Promise<Record<string, number>> {
  const db = raw as unknown as Kysely<any>;
  const batch = o.batch ?? 500;
  const now = o.now ?? Date.now;
  const out: Record<string, number> = {};
  for (const t of TARGETS) {
    const state = await db
      .selectFrom('data_key_rotations')
      .selectAll()
      .where('table_name', '=', t.table)
      .executeTakeFirst();
    // Resume an unfinished pass to the same key; anything else starts from the first row.
    const resume = state && state.key_id === cipher.currentKeyId && state.finished_at === null;
    let cursor: string[] | null = resume && state.cursor ? (JSON.parse(state.cursor) as string[]) : null;
    let rewritten = resume ? Number(state.rewritten) : 0;
    let scanned = 0;
    for (;;) {
      if (o.signal?.aborted) return out;
      let q = db
        .selectFrom(t.table)
        .select([...t.key, ...t.columns.map((c) => c.column)])
        .where((eb: any) => eb.or(t.columns.map((c) => eb(c.column, 'is not', null))));
      if (cursor) q = q.where((eb: any) => after(eb, t.key, cursor!));
      for (const k of t.key) q = q.orderBy(k);
      const rows: Record<string, string>[] = await q.limit(batch).execute();
      const last = rows.at(-1);
      const next = last ? t.key.map((k) => String(last[k])) : cursor;
      await db.transaction().execute(async (trx: Kysely<any>) => {
        for (const r of rows) {
          const stale = t.columns.filter(
            (c) => r[c.column] != null && !allUnder(cipher, c.kind, r[c.column]!, cipher.currentKeyId),
          );
          if (stale.length === 0) continue;
          let u = trx
            .updateTable(t.table)
            .set(Object.fromEntries(stale.map((c) => [c.column, resealValue(cipher, c.kind, r[c.column]!)])));
          for (const c of stale) u = u.where(c.column, '=', r[c.column]);
          for (const k of t.key) u = u.where(k, '=', r[k]);
          const res = await u.executeTakeFirst();
          rewritten += Number(res.numUpdatedRows ?? 0n);
        }
        const row = {
          key_id: cipher.currentKeyId,
          cursor: next ? JSON.stringify(next) : null,
          rewritten,
          updated_at: now(),
          finished_at: rows.length < batch ? now() : null,
        };
        await trx
          .insertInto('data_key_rotations')
          .values({ table_name: t.table, ...row })
          .onConflict((oc: any) => oc.column('table_name').doUpdateSet(row))
          .execute();
      });
      scanned += rows.length;
      cursor = next;
      o.onBatch?.({ table: t.table, scanned, rewritten });
      if (rows.length < batch) break;
      if (o.pause_ms) await new Promise((r) => setTimeout(r, o.pause_ms));
    }
    out[t.table] = rewritten;
  }
  return out;
}

/** Rows strictly after `cursor` in key order (a composite key compares column by column). */
function after(eb: any, key: string[], cursor: string[]): any {
  const ors = key.map((k, i) =>
    eb.and([...key.slice(0, i).map((p, j) => eb(p, '=', cursor[j])), eb(k, '>', cursor[i])]),
  );
  return eb.or(ors);
}

export interface KeyStatus {
  /** Per table: rows holding values under each key id, and rows still in clear. */
  tables: Record<string, Record<string, number>>;
  /** Per key id: rows (over all tables) holding values under it; `clear` for rows never encrypted. */
  totals: Record<string, number>;
}

/**
 * How many rows hold values under each data key id (and in clear), per table. Counts rows (a
 * change-lineage row holds several values); a key id at 0 everywhere may be removed from config.
 */
export async function dataKeyStatus(raw: Kysely<Database>, keyIds: string[]): Promise<KeyStatus> {
  const db = raw as unknown as Kysely<any>;
  const stored = await db.selectFrom('data_keys').select('key_id').execute();
  const ids = [...new Set([...keyIds, ...stored.map((r: { key_id: string }) => r.key_id)])]
    .filter((id) => id !== LOOKUP_CHECK_ID)
    .sort();
  const tables: Record<string, Record<string, number>> = {};
  const totals: Record<string, number> = Object.fromEntries([...ids, 'clear'].map((id) => [id, 0]));
  for (const t of TARGETS) {
    // A row counts under a key id when any of its columns holds a value under it; in clear when
    // any of its non-null columns holds one that is not encrypted.
    const like = (c: Target['columns'][number], p: string) =>
      sql<boolean>`${sql.ref(c.column)} like ${`${c.kind === 'whole' ? '' : '%"'}${p}`} escape '\\'`;
    const any = (cond: (c: Target['columns'][number]) => ReturnType<typeof sql<boolean>>) =>
      sql<boolean>`(${sql.join(t.columns.map(cond), sql` or `)})`;
    const counts: Record<string, number> = {};
    for (const id of ids)
      counts[id] = await count(
        db,
        t,
        any((c) => like(c, `enc1:${escapeLike(id)}:%`)),
      );
    counts.clear = await count(
      db,
      t,
      any((c) => sql<boolean>`(${sql.ref(c.column)} is not null and not (${like(c, 'enc1:%')}))`),
    );
    tables[t.table] = counts;
    for (const [id, n] of Object.entries(counts)) totals[id] = (totals[id] ?? 0) + n;
  }
  return { tables, totals };
}

async function count(db: Kysely<any>, t: Target, cond: ReturnType<typeof sql<boolean>>): Promise<number> {
  const r = await db
    .selectFrom(t.table)
    .select((eb: any) => eb.fn.countAll().as('n'))
    .where(cond)
    .executeTakeFirst();
  return Number((r as { n?: number | string } | undefined)?.n ?? 0);
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * After a finished rotation: forgets the key-check of every old key no row needs any more, so
 * the operator can remove that key from config without the start-up check refusing.
 */
export async function retireUnusedKeys(raw: Kysely<Database>, cipher: DataCipher): Promise<string[]> {
  const status = await dataKeyStatus(raw, []);
  const unused = Object.entries(status.totals)
    .filter(([id, n]) => id !== 'clear' && id !== cipher.currentKeyId && n === 0)
    .map(([id]) => id);
  if (unused.length > 0) await raw.deleteFrom('data_keys').where('key_id', 'in', unused).execute();
  return unused;
}
