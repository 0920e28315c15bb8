import { sql, type Kysely } from 'kysely';

// One compact lineage row per event and customer (the fields it changed, old and new, as JSON)
// instead of one change-log row per field: about a third of the rows an address event wrote.
// `change_log` stays as a view with the same columns, so per-field history, who/when/from where
// and revert are still one indexed query (by customer; the view expands only the rows it reads).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('change_lineage')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('source_system', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text')
    .addColumn('changed_at', 'bigint', (c) => c.notNull())
    // [[field, old, new], ...] in the order the fields changed.
    .addColumn('changes', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('change_lineage_customer_idx')
    .on('change_lineage')
    .columns(['customer_id', 'changed_at'])
    .execute();
  const pg = await isPostgres(db);
  const encode = pg
    ? sql`json_build_array(json_build_array(field, old_value, new_value))::text`
    : sql`json_array(json_array(field, old_value, new_value))`;
  // An old row becomes a lineage row of one change with its id: `<id>.00` in the view.
  await sql`insert into change_lineage (id, customer_id, source_system, actor, event_id, changed_at, changes)
    select id, customer_id, source_system, actor, event_id, changed_at, ${encode} from change_log`.execute(db);
  await db.schema.dropTable('change_log').execute();
  await sql.raw(pg ? PG_VIEW : SQLITE_VIEW).execute(db);
}

const SQLITE_VIEW = `create view change_log as
  select printf('%s.%02d', l.id, j.key) as id, l.customer_id, json_extract(j.value, '$[0]') as field,
    json_extract(j.value, '$[1]') as old_value, json_extract(j.value, '$[2]') as new_value,
    l.source_system, l.actor, l.event_id, l.changed_at
  from change_lineage l, json_each(l.changes) j`;

const PG_VIEW = `create view change_log as
  select l.id || '.' || lpad((j.n - 1)::text, 2, '0') as id, l.customer_id, j.c->>0 as field,
    j.c->>1 as old_value, j.c->>2 as new_value, l.source_system, l.actor, l.event_id, l.changed_at
  from change_lineage l cross join lateral jsonb_array_elements(l.changes::jsonb) with ordinality as j(c, n)`;

async function isPostgres(db: Kysely<any>): Promise<boolean> {
  try {
    await sql`select version()`.execute(db);
    return true;
  } catch {
    return false;
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop view if exists change_log`.execute(db);
  await db.schema
    .createTable('change_log')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('field', 'text', (c) => c.notNull())
    .addColumn('old_value', 'text')
    .addColumn('new_value', 'text')
    .addColumn('source_system', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text')
    .addColumn('changed_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.dropTable('change_lineage').ifExists().execute();
}
