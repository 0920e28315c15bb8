import type { Kysely } from 'kysely';
import { z } from 'zod';
import { ERASURE_KIND } from '../canonical/erasure.ts';
import type { Database } from '../db/schema.ts';
import type { Logger } from '../log.ts';

type Db = Kysely<Database>;

const days = (what: string) =>
  z.number().int().min(1).nullable().default(null).describe(`Days to keep ${what}; null: keep for ever.`);

/** Config `governance.retention`: how long personal data is kept, per kind. */
export const retentionSchema = z
  .object({
    inbox_payloads: days('inbox event payloads (the event row, its status and delivery id stay)'),
    change_log_values: days('the old/new values in the change log (which field changed when, by whom, stays)'),
    findings: days('reconciliation findings no one has to act on any more (open and healing ones stay)'),
    interval_minutes: z
      .number()
      .int()
      .min(0)
      .default(60)
      .describe('How often `hearth serve` enforces the periods; 0: only `hearth retention run`.'),
    batch_size: z.number().int().min(1).max(10_000).default(500).describe('Rows changed per transaction.'),
  })
  .prefault({});

export type RetentionSettings = z.infer<typeof retentionSchema>;

export interface RetentionReport {
  inbox_payloads: number;
  change_log_values: number;
  findings: number;
  /** Done erasure jobs whose payload (record ids, e-mail) was blanked: always, whatever the periods. */
  erasure_payloads: number;
}

const DAY = 86_400_000;
const BLANK_EVENT = JSON.stringify({ expired: true });

/**
 * One enforcement pass: for each kind with a period, what is older than it is blanked (inbox
 * payloads, change-log values) or deleted (findings), a batch per transaction so a large first
 * run never holds a long lock. An inbox event still pending is never blanked (it has not been
 * applied yet). Blanked rows carry `redacted_at`, so later passes skip them.
 */
export async function enforceRetention(db: Db, s: RetentionSettings, now: number): Promise<RetentionReport> {
  const report: RetentionReport = { inbox_payloads: 0, change_log_values: 0, findings: 0, erasure_payloads: 0 };
  if (s.inbox_payloads !== null) {
    const cutoff = now - s.inbox_payloads * DAY;
    report.inbox_payloads = await inBatches(s.batch_size, async (n) => {
      const rows = await db
        .selectFrom('inbox_events')
        .select('id')
        .where('received_at', '<', cutoff)
        .where('redacted_at', 'is', null)
        .where('status', '!=', 'pending')
        .limit(n)
        .execute();
      if (rows.length === 0) return 0;
      const ids = rows.map((r) => r.id);
      // The payload goes, and with it the record of who the event was about (erasure's index).
      return db.transaction().execute(async (trx) => {
        const r = await trx
          .updateTable('inbox_events')
          .set({ payload: BLANK_EVENT, redacted_at: now })
          .where('id', 'in', ids)
          .where('redacted_at', 'is', null)
          .executeTakeFirst();
        await trx.deleteFrom('inbox_subjects').where('event_id', 'in', ids).execute();
        return Number(r.numUpdatedRows);
      });
    });
  }
  if (s.change_log_values !== null) {
    const cutoff = now - s.change_log_values * DAY;
    report.change_log_values = await inBatches(s.batch_size, async (n) => {
      const rows = await db
        .selectFrom('change_lineage')
        .select(['id', 'changes'])
        .where('changed_at', '<', cutoff)
        .where('redacted_at', 'is', null)
        .limit(n)
        .execute();
      await db.transaction().execute(async (trx) => {
        for (const row of rows) {
          const blank = (JSON.parse(row.changes) as [string, unknown, unknown][]).map(([f]) => [f, null, null]);
          await trx
            .updateTable('change_lineage')
            .set({ changes: JSON.stringify(blank), redacted_at: now })
            .where('id', '=', row.id)
            .execute();
        }
      });
      return rows.length;
    });
  }
  if (s.findings !== null) {
    const cutoff = now - s.findings * DAY;
    report.findings = await inBatches(s.batch_size, async (n) => {
      const ids = db
        .selectFrom('drift_findings')
        .select('id')
        .where('created_at', '<', cutoff)
        .where('status', 'not in', ['open', 'healing'])
        .limit(n);
      const r = await db.deleteFrom('drift_findings').where('id', 'in', ids).executeTakeFirst();
      return Number(r.numDeletedRows);
    });
  }
  report.erasure_payloads = await inBatches(s.batch_size, async (n) => {
    const ids = db
      .selectFrom('jobs')
      .select('id')
      .where('kind', '=', ERASURE_KIND)
      .where('status', '=', 'done')
      .where('payload', '!=', '{}')
      .limit(n);
    const r = await db.updateTable('jobs').set({ payload: '{}' }).where('id', 'in', ids).executeTakeFirst();
    return Number(r.numUpdatedRows);
  });
  return report;
}

async function inBatches(size: number, step: (n: number) => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await step(size);
    total += n;
    if (n < size) return total;
  }
}

export interface RetentionScheduler {
  /** Resolves once a pass in flight finished. */
  close(): Promise<void>;
}

/** What a pass reports to: the metric (rows per kind) and the log line. */
export interface RetentionSink {
  logger: Logger;
  removed?: (kind: keyof RetentionReport, n: number) => void;
}

/** Runs a pass, counts it and logs what it removed (one line, counts only). */
export async function runRetention(db: Db, s: RetentionSettings, now: number, sink: RetentionSink) {
  const report = await enforceRetention(db, s, now);
  for (const [kind, n] of Object.entries(report) as [keyof RetentionReport, number][])
    if (n > 0) sink.removed?.(kind, n);
  sink.logger.info({ retention: report }, 'retention pass');
  return report;
}

/**
 * The scheduled enforcement inside `hearth serve`: a pass every `interval_minutes` (the first one
 * an interval after start), none when no period is set. A pass that fails is logged and retried
 * at the next tick.
 */
export function scheduleRetention(db: Db, s: RetentionSettings, sink: RetentionSink): RetentionScheduler | null {
  const anyPeriod = s.inbox_payloads !== null || s.change_log_values !== null || s.findings !== null;
  if (!anyPeriod || s.interval_minutes === 0) return null;
  let inflight: Promise<unknown> = Promise.resolve();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    inflight = runRetention(db, s, Date.now(), sink)
      .catch((err: unknown) => sink.logger.error({ err }, 'retention pass failed'))
      .finally(() => {
        busy = false;
      });
  }, s.interval_minutes * 60_000);
  timer.unref();
  return {
    close: async () => {
      clearInterval(timer);
      await inflight;
    },
  };
}
