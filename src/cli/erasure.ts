import { openDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { HearthError } from '../errors.ts';
import { runErasure } from '../flows/erasure.ts';
import { erasureReport, listErasures, retryErasure, type ErasureReport } from '../governance/erasure-report.ts';
import { runRetention } from '../governance/retention.ts';
import { createLogger } from '../log.ts';
import { CONFIG_FLAGS, configFrom } from './config-flags.ts';
import { parseFlags, writeLine, type CliIo } from './io.ts';

const ERASE_HELP = `Usage:
  hearth erase CUSTOMER_ID [--json]
Common: [--config FILE] [--db URL]

Erases a customer in Hearth (the record and any merged into it, crosswalk, change-log values, inbox
payloads, findings, undelivered jobs) and queues one erasure job per connected system that supports
it (HubSpot GDPR delete, Salesforce, Stripe, Zendesk, SCIM, Auth0, Keycloak), in one transaction.
A tombstone of keyed hashes holds back a later webhook for the same person for review.
A running 'hearth serve' delivers the jobs; 'hearth erasures ID' shows each system's answer.`;

const ERASURES_HELP = `Usage:
  hearth erasures [--limit N] [--json]     erasures, newest first, with each system's status
  hearth erasures ID [--retry] [--json]    one erasure: per system pending / done / failed (error), held webhooks;
                                           --retry re-drives the systems that refused
Common: [--config FILE] [--db URL]`;

const RETENTION_HELP = `Usage:
  hearth retention run [--json]    enforce governance.retention once (hearth serve does it every interval)
Common: [--config FILE] [--db URL]`;

export async function eraseCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, { ...CONFIG_FLAGS, json: { type: 'boolean' } }, true);
  if (values.help) return (writeLine(io.stdout, ERASE_HELP), 0);
  const [id, ...extra] = positionals;
  if (!id || extra.length > 0) throw new HearthError('invalid_input', 'erase takes one CUSTOMER_ID');
  const config = configFrom(values, io);
  const hdb = openDatabase(config.database, { mustExist: true });
  try {
    await migrateToLatest(hdb.db);
    const out = await runErasure(hdb, config, id, 'cli', Date.now());
    const report = await erasureReport(hdb.db, out.id);
    if (values.json) writeLine(io.stdout, JSON.stringify(report));
    else {
      const rows = Object.entries(out.removed).filter(([, n]) => n > 0);
      writeLine(
        io.stdout,
        `erasure ${out.id}: customer ${out.customer_id} erased (${out.customer_ids.length} record(s))`,
      );
      writeLine(io.stdout, `removed or blanked: ${rows.map(([t, n]) => `${t} ${n}`).join(', ') || 'nothing else'}`);
      printSystems(report, io);
    }
    return 0;
  } finally {
    await hdb.close();
  }
}

export async function erasuresCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    { ...CONFIG_FLAGS, json: { type: 'boolean' }, retry: { type: 'boolean' }, limit: { type: 'string' } },
    true,
  );
  if (values.help) return (writeLine(io.stdout, ERASURES_HELP), 0);
  const [id, ...extra] = positionals;
  if (extra.length > 0) throw new HearthError('invalid_input', 'erasures takes at most one erasure ID');
  if (values.retry && !id) throw new HearthError('invalid_input', '--retry needs an erasure ID');
  const limit = Number(values.limit ?? 50);
  if (!Number.isInteger(limit) || limit < 1)
    throw new HearthError('invalid_input', '--limit must be a positive integer');
  const config = configFrom(values, io);
  const hdb = openDatabase(config.database, { mustExist: true });
  try {
    await migrateToLatest(hdb.db);
    if (id) {
      if (values.retry) writeLine(io.stdout, `re-driven: ${await retryErasure(hdb.db, id, Date.now())} system(s)`);
      const report = await erasureReport(hdb.db, id);
      if (values.json) writeLine(io.stdout, JSON.stringify(report));
      else {
        writeLine(io.stdout, `erasure ${report.id} of ${report.customer_id} by ${report.actor}: ${report.status}`);
        printSystems(report, io);
        for (const h of report.holds)
          writeLine(io.stdout, `held ${h.id}\t${h.connector} event ${h.event_id} (matched ${h.matched}): ${h.status}`);
      }
      return report.status === 'done' ? 0 : 1;
    }
    const list = await listErasures(hdb.db, limit);
    if (values.json) writeLine(io.stdout, JSON.stringify({ data: list }));
    else
      for (const r of list) {
        const failed = r.systems.filter((s) => s.status === 'failed').map((s) => s.system);
        const note = failed.length ? ` (failed: ${failed.join(', ')})` : '';
        writeLine(io.stdout, `${r.id}\t${r.customer_id}\t${new Date(r.created_at).toISOString()}\t${r.status}${note}`);
      }
    return 0;
  } finally {
    await hdb.close();
  }
}

export async function retentionCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, { ...CONFIG_FLAGS, json: { type: 'boolean' } }, true);
  if (values.help) return (writeLine(io.stdout, RETENTION_HELP), 0);
  if (positionals[0] !== 'run' || positionals.length > 1) return (writeLine(io.stderr, RETENTION_HELP), 2);
  const config = configFrom(values, io);
  const hdb = openDatabase(config.database, { mustExist: true });
  try {
    await migrateToLatest(hdb.db);
    const r = await runRetention(hdb.db, config.governance.retention, Date.now(), { logger: createLogger('error') });
    if (values.json) writeLine(io.stdout, JSON.stringify(r));
    else
      writeLine(
        io.stdout,
        `retention: ${r.inbox_payloads} inbox payload(s), ${r.change_log_values} change-log entr(ies) blanked; ` +
          `${r.findings} finding(s) deleted; ${r.erasure_payloads} erasure job payload(s) cleared`,
      );
    return 0;
  } finally {
    await hdb.close();
  }
}

function printSystems(r: ErasureReport, io: CliIo): void {
  for (const s of r.systems)
    writeLine(io.stdout, `  ${s.system}\t${s.status}${s.error ? `\t${s.error}` : ''}${s.note ? `\t(${s.note})` : ''}`);
}
