import { buildConnectors } from '../connectors/registry.ts';
import { openDatabase } from '../db/database.ts';
import { secureDatabase } from '../crypto/key-check.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { HearthError } from '../errors.ts';
import type { PullSummary } from '../flows/crm-pull.ts';
import { pullConnector } from '../flows/pull-sources.ts';
import { createLogger } from '../log.ts';
import { engineContext } from '../runtime.ts';
import { CONFIG_FLAGS, configFrom } from './config-flags.ts';
import { parseFlags, writeLine, type CliIo } from './io.ts';

const HELP = `Usage:
  hearth sync pull <hubspot|salesforce|zoho> [--restart] [--max-pages N] [--page-size N] [--json]
Common: [--config FILE] [--db URL]

Imports or refreshes every contact of a CRM, page by page, with its household relationships
(when the CRM is config households.source): household, head or member, points-aggregation
opt-in. Contacts become customers through the crosswalk; memberships change on their timeline.
Each page commits with the cursor of the next one: an interrupted pull resumes where it stopped
(--restart starts over). Queued follow-up jobs (IdP pushes, webhooks) are delivered by 'hearth serve'.
Prints a summary: contacts, customers created, households created, memberships changed.`;

export async function syncCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    {
      ...CONFIG_FLAGS,
      restart: { type: 'boolean' },
      'max-pages': { type: 'string' },
      'page-size': { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  if (values.help) return (writeLine(io.stdout, HELP), 0);
  const [action, connector, ...extra] = positionals;
  if (action !== 'pull' || !connector || extra.length)
    throw new HearthError(
      'invalid_input',
      'usage: hearth sync pull <hubspot|salesforce|zoho> (see hearth sync --help)',
    );
  const maxPages = positiveInt(values['max-pages'], '--max-pages');
  const pageSize = positiveInt(values['page-size'], '--page-size');
  const config = configFrom(values, io);
  const logger = createLogger('error', process.stderr);
  const opened = openDatabase(config.database);
  try {
    await migrateToLatest(opened.db);
    // A wrong data key refuses here, before anything is read or written.
    const hdb = await secureDatabase(opened, config.security);
    const connectors = buildConnectors(config.descriptors, config.connectors, { logger });
    const progress =
      io.isTTY && !values.json
        ? (s: PullSummary) =>
            io.stderr.write(
              `\r${connector}: page ${s.pages}, ${s.contacts} contacts, ${s.members_changed} memberships changed`,
            )
        : undefined;
    const summary = await pullConnector(hdb, config, connectors, engineContext(config, connectors), connector, {
      ...(values.restart ? { restart: true } : {}),
      ...(maxPages ? { max_pages: maxPages } : {}),
      ...(pageSize ? { page_size: pageSize } : {}),
      ...(progress ? { onPage: progress } : {}),
    });
    if (progress) io.stderr.write('\n');
    if (values.json) writeLine(io.stdout, JSON.stringify(summary));
    else printSummary(summary, io);
    return 0;
  } finally {
    await opened.close();
  }
}

function positiveInt(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 1))
    throw new HearthError('invalid_input', `${flag} must be a positive integer (got "${v}")`);
  return n;
}

function printSummary(s: PullSummary, io: CliIo): void {
  writeLine(io.stdout, `pull ${s.pull_id} (${s.connector}): ${s.status}${s.resumed ? ' (resumed)' : ''}`);
  writeLine(
    io.stdout,
    `contacts=${s.contacts} pages=${s.pages} customers_created=${s.customers_created} ` +
      `households_created=${s.households_created} members_changed=${s.members_changed}`,
  );
  if (s.status === 'paused') writeLine(io.stdout, `resume with: hearth sync pull ${s.connector}`);
}
