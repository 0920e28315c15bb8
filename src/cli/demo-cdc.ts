import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config/loader.ts';
import { signatureHeaders } from '../connectors/registry.ts';
import { createLogger } from '../log.ts';
import { startHearth, type Hearth } from '../runtime.ts';
import { startSalesforceSim } from '../../sim/salesforce.ts';
import { freePort } from './free-port.ts';
import { parseFlags, writeLine, type CliIo } from './io.ts';

const HELP = `Usage: hearth demo-cdc [--db URL]

Salesforce Change Data Capture over the Pub/Sub API, built into serve: starts a simulated
Salesforce (REST + Pub/Sub gRPC), Hearth subscribed to /data/ContactChangeEvent and
/data/AccountChangeEvent, then edits contacts "in Lightning" and prints, for each edit, how long
it took to be stored and applied by Hearth, and the replay id it was committed with.
  --db URL   database (default: a temporary SQLite file, removed afterwards)`;

const PEOPLE = [
  { FirstName: 'Ada', LastName: 'Byron', Email: 'ada.byron@example.com', MailingCity: 'London' },
  { FirstName: 'Grace', LastName: 'Hopper', Email: 'grace.hopper@example.com', MailingCity: 'Arlington' },
  { FirstName: 'Alan', LastName: 'Turing', Email: 'alan.turing@example.com', MailingCity: 'Wilmslow' },
];
const MOVES = [
  { MailingStreet: '12 St James Sq', MailingCity: 'London', MailingPostalCode: 'SW1Y 4LB' },
  { MailingStreet: '1 Navy Way', MailingCity: 'Arlington', MailingPostalCode: '22202' },
  { MailingStreet: '7 Adlington Rd', MailingCity: 'Wilmslow', MailingPostalCode: 'SK9 1LA' },
];

export async function demoCdcCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(argv, { help: { type: 'boolean', short: 'h' }, db: { type: 'string' } });
  if (values.help) return (writeLine(io.stdout, HELP), 0);
  const dir = values.db ? null : mkdtempSync(join(tmpdir(), 'hearth-demo-cdc-'));
  const sf = await startSalesforceSim({ pubsub: true });
  let hearth: Hearth | undefined;
  try {
    const config = parseConfig({
      database: values.db ?? `sqlite:${join(dir!, 'demo-cdc.db')}`,
      server: { host: '127.0.0.1', port: await freePort() },
      log: { level: io.env.HEARTH_LOG_LEVEL ?? 'error' },
      connectors: {
        salesforce: {
          instance_url: sf.url,
          access_token: sf.token,
          cdc: { enabled: true, org_id: '00D5g000004DEMOEAA', pubsub_url: sf.pubsub!.url },
        },
      },
      jobs: { poll_interval_ms: 50 },
    });
    hearth = await startHearth(config, {
      logger: createLogger(config.log.level, io.stderr, signatureHeaders(config.descriptors)),
    });
    const db = hearth.hdb.db;
    const ids = PEOPLE.map((p) => sf.createContact(p));
    await until(async () => {
      const rows = await db
        .selectFrom('connector_cursors')
        .select('stream')
        .where('connector', '=', 'salesforce')
        .execute();
      return rows.length >= 2;
    });
    writeLine(io.stdout, `Hearth at ${hearth.url} is subscribed to Salesforce CDC (Pub/Sub API at ${sf.pubsub!.url}).`);
    for (const [i, id] of ids.entries()) {
      const started = performance.now();
      sf.updateFromUi(id, MOVES[i]!);
      const row = await until(() =>
        db
          .selectFrom('inbox_events')
          .select(['delivery_id', 'status'])
          .where('connector', '=', 'salesforce')
          .where('payload', 'like', `%${id}%`)
          .where('status', '=', 'applied')
          .executeTakeFirst(),
      );
      const ms = Math.round(performance.now() - started);
      writeLine(
        io.stdout,
        `  ${PEOPLE[i]!.Email} moved to "${MOVES[i]!.MailingStreet}" in Lightning -> applied by Hearth ` +
          `in ${ms} ms (replay id ${row.delivery_id})`,
      );
    }
    const cursor = await db
      .selectFrom('connector_cursors')
      .select('position')
      .where('connector', '=', 'salesforce')
      .where('stream', '=', '/data/ContactChangeEvent')
      .executeTakeFirst();
    writeLine(
      io.stdout,
      `The replay id stored with the last event (hex ${cursor?.position}) is where a restart resumes.`,
    );
    return 0;
  } finally {
    await hearth?.close();
    await sf.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** Polls every 10 ms until `check` answers (the demo's only wait; gives up after 30 s). */
async function until<T>(check: () => Promise<T | undefined | null | false>): Promise<T> {
  for (let i = 0; i < 3000; i++) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('demo-cdc: timed out waiting for Hearth');
}
