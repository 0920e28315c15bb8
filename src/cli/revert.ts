import { buildConnectors } from '../connectors/registry.ts';
import { openDatabase } from '../db/database.ts';
import { secureDatabase } from '../crypto/key-check.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { HearthError } from '../errors.ts';
import { engineContext } from '../flows/engine-context.ts';
import { describeSelector, runRevert, type RevertResult } from '../flows/revert.ts';
import { selectorProblem, type RevertSelector } from '../governance/revert.ts';
import { createLogger } from '../log.ts';
import { CONFIG_FLAGS, configFrom } from './config-flags.ts';
import { parseFlags, writeLine, type CliIo } from './io.ts';

const HELP = `Usage:
  hearth revert --change CHANGE_ID          one field change (an id from GET /v1/customers/:id changes)
  hearth revert --event EVENT_ID            every change of one event (an inbox event, or a revert)
  hearth revert --source NAME [--since T] [--until T]      everything one source wrote
  hearth revert --customer ID [--customer ID ...] --since T [--until T]   a window for some customers
  hearth revert --run RUN_ID                the person-field heals a reconciliation run wrote to a CRM
Options: [--dry-run] [--skip-conflicts] [--json]
Common: [--config FILE] [--db URL]

T is an ISO time (2026-11-30T14:00:00Z) or a duration back from now (90m, 6h, 2d).
A revert writes NEW changes (the history keeps both), queued to every system like any change, and
is itself revertible (hearth revert --event <its id>). --dry-run lists what would change.
A field changed since by another source is a conflict: the revert stops and writes nothing
(exit 1) unless --skip-conflicts reverts the rest. A running 'hearth serve' delivers the jobs.`;

export async function revertCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(argv, {
    ...CONFIG_FLAGS,
    change: { type: 'string' },
    event: { type: 'string' },
    source: { type: 'string' },
    customer: { type: 'string', multiple: true },
    run: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    'dry-run': { type: 'boolean' },
    'skip-conflicts': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (values.help) return (writeLine(io.stdout, HELP), 0);
  const now = Date.now();
  const selector = toSelector(values, now);
  const config = configFrom(values, io);
  const opened = openDatabase(config.database, { mustExist: true });
  try {
    await migrateToLatest(opened.db);
    // A wrong data key refuses here, before anything is read or written.
    const hdb = await secureDatabase(opened, config.security);
    const connectors = buildConnectors(config.descriptors, config.connectors, { logger: createLogger('error') });
    const result = await runRevert(
      hdb.db,
      engineContext(config, connectors),
      selector,
      { dry_run: values['dry-run'] === true, skip_conflicts: values['skip-conflicts'] === true, actor: 'cli' },
      now,
    );
    if (values.json) writeLine(io.stdout, JSON.stringify(result));
    else printResult(result, describeSelector(selector), io);
    return !result.dry_run && !result.applied && result.conflicts.length > 0 ? 1 : 0;
  } finally {
    await opened.close();
  }
}

function printResult(r: RevertResult, what: string, io: CliIo): void {
  const show = (v: string | null) => (v === null ? '(empty)' : JSON.stringify(v));
  for (const s of r.steps) writeLine(io.stdout, `${s.customer_id}\t${s.field}\t${show(s.from)} -> ${show(s.to)}`);
  for (const c of r.conflicts)
    writeLine(
      io.stdout,
      `CONFLICT ${c.customer_id}\t${c.field}\tchanged since by ${c.newer.source_system} (${c.newer.id}): not reverted`,
    );
  for (const u of r.unsupported) writeLine(io.stdout, `skipped ${u.id}\t${u.field}: not a revertible field`);
  const fields = `${r.steps.length} field(s) of ${new Set(r.steps.map((s) => s.customer_id)).size} customer(s)`;
  if (r.dry_run) writeLine(io.stdout, `dry run of ${what}: would revert ${fields}; ${r.conflicts.length} conflict(s)`);
  else if (r.applied) writeLine(io.stdout, `revert ${r.id} of ${what}: reverted ${fields}, queued ${r.jobs} job(s)`);
  else if (r.conflicts.length > 0)
    writeLine(
      io.stdout,
      `revert of ${what} stopped: ${r.conflicts.length} conflict(s); nothing written (--skip-conflicts)`,
    );
  else writeLine(io.stdout, `revert of ${what}: nothing to change (the values are already back)`);
}

/** A duration back from now (90m, 6h, 2d) or an ISO time, in epoch ms. */
export function parseTime(flag: string, value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const rel = /^(\d+)([mhd])$/.exec(value);
  if (rel) return now - Number(rel[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 'm' | 'h' | 'd'];
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new HearthError('invalid_input', `--${flag} must be an ISO time or 90m / 6h / 2d`);
  return t;
}

function toSelector(
  v: {
    change?: string;
    event?: string;
    source?: string;
    customer?: string[];
    run?: string;
    since?: string;
    until?: string;
  },
  now: number,
): RevertSelector {
  const since = parseTime('since', v.since, now);
  const until = parseTime('until', v.until, now);
  const problem = selectorProblem({
    change: v.change,
    event: v.event,
    source: v.source,
    customers: v.customer,
    run: v.run,
    since,
    until,
  });
  if (problem)
    throw new HearthError(
      'invalid_input',
      problem.replace('customers', '--customer').replace(/\b(change|event|source|since|until|run)\b/g, '--$1'),
    );
  if (v.run) return { run: v.run };
  if (v.change) return { change: v.change };
  if (v.event) return { event: v.event };
  if (v.source) return { source: v.source, since, until };
  return { customers: v.customer!, since: since!, until };
}
