import type { Kysely } from 'kysely';

// Live reconciliation: runs (resumable: the system and cursor of the next page are saved with
// each page's findings), drift findings per system/field/record, and the scorecard per run.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('reconcile_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('systems', 'text', (c) => c.notNull())
    .addColumn('system', 'text')
    .addColumn('cursor', 'text')
    .addColumn('pages', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('records', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('matched', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('unmatched', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('findings', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('jobs', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('stats', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('error', 'text')
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('reconcile_runs_status_idx')
    .on('reconcile_runs')
    .columns(['status', 'updated_at'])
    .execute();

  await db.schema
    .createTable('drift_findings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('run_id', 'text', (c) => c.notNull().references('reconcile_runs.id'))
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('field', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('canonical_value', 'text')
    .addColumn('system_value', 'text')
    .addColumn('detail', 'text')
    .addColumn('job_id', 'text')
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('drift_findings_run_idx').on('drift_findings').columns(['run_id', 'id']).execute();
  await db.schema
    .createIndex('drift_findings_filter_idx')
    .on('drift_findings')
    .columns(['system', 'field', 'status'])
    .execute();
  await db.schema
    .createIndex('drift_findings_record_idx')
    .on('drift_findings')
    .columns(['system', 'external_id', 'status'])
    .execute();

  await db.schema
    .createTable('reconcile_scores')
    .addColumn('run_id', 'text', (c) => c.notNull().references('reconcile_runs.id'))
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('field', 'text', (c) => c.notNull())
    .addColumn('compared', 'integer', (c) => c.notNull())
    .addColumn('drifted', 'integer', (c) => c.notNull())
    .addColumn('format_only', 'integer', (c) => c.notNull())
    .addColumn('computed_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('reconcile_scores_pk', ['run_id', 'system', 'field'])
    .execute();
  await db.schema
    .createIndex('reconcile_scores_time_idx')
    .on('reconcile_scores')
    .columns(['system', 'field', 'computed_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['reconcile_scores', 'drift_findings', 'reconcile_runs'])
    await db.schema.dropTable(t).ifExists().execute();
}
