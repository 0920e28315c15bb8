import { openDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import type { JobStatus } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { jobView } from '../http/views.ts';
import { getJob, listJobs, requeueJob } from '../engine/jobs.ts';
import { CONFIG_FLAGS, configFrom } from './config-flags.ts';
import { parseFlags, writeLine, type CliIo } from './io.ts';

const HELP = `Usage:
  hearth jobs list [--status pending|running|done|dead|superseded|shadow] [--target T] [--limit N] [--json]
  hearth jobs retry JOB_ID [JOB_ID ...]
Common: [--config FILE] [--db URL]

'list --status dead' shows the dead letters with the vendor's last error; 'retry' re-drives them
(a running 'hearth serve' picks them up).`;

const STATUSES = ['pending', 'running', 'done', 'dead', 'superseded', 'shadow'];

export async function jobsCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    {
      ...CONFIG_FLAGS,
      status: { type: 'string' },
      target: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  const [sub, ...ids] = positionals;
  if (values.help || !sub) return (writeLine(values.help ? io.stdout : io.stderr, HELP), values.help ? 0 : 2);
  if (values.status && !STATUSES.includes(values.status))
    throw new HearthError('invalid_input', `--status must be one of ${STATUSES.join(', ')}`);
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new HearthError('invalid_input', '--limit must be a positive integer');
  // Listing or re-driving jobs of a database that does not exist is a typo, not a request to create one.
  const hdb = openDatabase(configFrom(values, io).database, { mustExist: true });
  try {
    await migrateToLatest(hdb.db);
    if (sub === 'list') {
      const rows = await listJobs(hdb.db, {
        status: values.status as JobStatus | undefined,
        target: values.target,
        limit,
      });
      if (values.json) writeLine(io.stdout, JSON.stringify({ data: rows.map(jobView) }));
      else
        for (const j of rows)
          writeLine(
            io.stdout,
            [j.id, j.target, j.kind, j.status, `attempts=${j.attempts}`, j.last_error ?? ''].join('\t'),
          );
      return 0;
    }
    if (sub === 'retry') return await retry(hdb.db, ids, io);
    throw new HearthError('invalid_input', `unknown jobs subcommand "${sub}" (list or retry)`);
  } finally {
    await hdb.close();
  }
}

async function retry(db: Parameters<typeof getJob>[0], ids: string[], io: CliIo): Promise<number> {
  if (ids.length === 0) throw new HearthError('invalid_input', 'jobs retry needs at least one JOB_ID');
  let failures = 0;
  for (const id of ids) {
    const job = await getJob(db, id);
    if (!job) {
      writeLine(io.stderr, `hearth jobs: ${id}: not found`);
      failures++;
      continue;
    }
    const requeued = await requeueJob(db, id, Date.now()).catch((err: unknown) => {
      if (!(err instanceof HearthError)) throw err;
      writeLine(io.stderr, `hearth jobs: ${err.message}`);
      return null;
    });
    if (requeued) writeLine(io.stdout, `${id}: requeued`);
    else if (requeued === null) failures++;
    else {
      writeLine(io.stderr, `hearth jobs: ${id}: is ${job.status}; only dead or superseded jobs can be retried`);
      failures++;
    }
  }
  return failures ? 1 : 0;
}
