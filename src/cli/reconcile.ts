import { buildConnectors } from '../connectors/registry.ts';
import { openDatabase } from '../db/database.ts';
import { secureDatabase } from '../crypto/key-check.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { HearthError } from '../errors.ts';
import { runView } from '../http/routes/reconcile.ts';
import { createLogger } from '../log.ts';
import { createRun, executeRun, resumeRun, type ReconcileDeps } from '../flows/reconcile-run.ts';
import { CONFIG_FLAGS, configFrom } from './config-flags.ts';
import { parseFlags, writeLine, type CliIo } from './io.ts';

const HELP = `Usage:
  hearth reconcile [--system hubspot|salesforce ...] [--json]
  hearth reconcile --resume RUN_ID [--json]
Common: [--config FILE] [--db URL] [--max-pages N]

Pulls each connected CRM's contacts page by page, compares every matched record with Hearth's
canonical record field by field (addresses as delivery points, phones as E.164), records the
findings and prints the drift scorecard. Policies come from the config's reconcile.policies:
'heal' queues the corrective write (a running 'hearth serve' delivers it), 'review' leaves the
finding open for an operator, 'report' only measures. A failed or --max-pages run resumes with --resume.
Exit status: 0 when the run finished (or paused at --max-pages), 1 when it failed.`;

export async function reconcileCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(argv, {
    ...CONFIG_FLAGS,
    system: { type: 'string', multiple: true },
    resume: { type: 'string' },
    'max-pages': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) return (writeLine(io.stdout, HELP), 0);
  const maxPages = values['max-pages'] === undefined ? undefined : Number(values['max-pages']);
  if (maxPages !== undefined && !(Number.isInteger(maxPages) && maxPages >= 1))
    throw new HearthError('invalid_input', '--max-pages must be a positive integer');
  if (values.resume && values.system)
    throw new HearthError('invalid_input', '--resume continues a run over its own systems; drop --system');
  const config = configFrom(values, io);
  const logger = createLogger('error', process.stderr);
  const opened = openDatabase(config.database);
  try {
    await migrateToLatest(opened.db);
    // A wrong data key refuses here, before anything is read or written.
    const hdb = await secureDatabase(opened, config.security);
    const deps: ReconcileDeps = {
      hdb,
      connectors: buildConnectors(config.descriptors, config.connectors, { logger }),
      config,
      logger,
    };
    const run = values.resume
      ? await resumeRun(deps, values.resume)
      : await createRun(deps, { systems: values.system, trigger: 'cli', actor: 'cli' });
    // Progress on a terminal: one line rewritten per committed page.
    const onPage = io.isTTY
      ? (r: { system: string | null; records: number; findings: number }) =>
          io.stderr.write(`\rreconciling ${r.system ?? 'done'}: ${r.records} records, ${r.findings} findings`)
      : undefined;
    const done = await executeRun(deps, run.id, {
      ...(maxPages === undefined ? {} : { max_pages: maxPages }),
      ...(onPage ? { onPage } : {}),
    });
    if (onPage) io.stderr.write('\n');
    const view = runView(done);
    if (values.json) writeLine(io.stdout, JSON.stringify(view));
    else printRun(view, io);
    return done.status === 'failed' ? 1 : 0;
  } finally {
    await opened.close();
  }
}

function printRun(v: ReturnType<typeof runView>, io: CliIo): void {
  writeLine(
    io.stdout,
    `run ${v.id}: ${v.status}  records=${v.records} matched=${v.matched} unmatched=${v.unmatched} ` +
      `findings=${v.findings} heal_jobs=${v.jobs}`,
  );
  if (v.error) writeLine(io.stdout, `error: ${v.error}`);
  if (v.position && v.status !== 'done') writeLine(io.stdout, `resume with: hearth reconcile --resume ${v.id}`);
  writeLine(io.stdout, ['system', 'field', 'compared', 'drifted', 'format_only', 'drift_rate'].join('\t'));
  for (const l of v.scorecard)
    writeLine(
      io.stdout,
      [l.system, l.field, l.compared, l.drifted, l.format_only, `${(l.drift_rate * 100).toFixed(1)}%`].join('\t'),
    );
}
