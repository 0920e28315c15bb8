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
  await runCdcScene(io, { database: values.db, edits: PEOPLE.length });
  return 0;
}

export interface CdcSceneOptions {
  /** Database of the scene's Hearth (default: a temporary SQLite file, removed afterwards). */
  database?: string | undefined;
  /** How many contacts are edited in Lightning (1 to 3). */
  edits: number;
  /** Print the header and the replay-id line (the standalone command); the main demo prints one line per edit. */
  verbose?: boolean;
}

/**
 * A simulated Salesforce (REST + Pub/Sub gRPC) and a Hearth subscribed to its CDC channels; each
 * edit "in Lightning" is timed until it is stored from the stream and until it is applied.
 * Returns the measured milliseconds (applied) per edit.
 */
export async function runCdcScene(io: CliIo, o: CdcSceneOptions): Promise<number[]> {
  const verbose = o.verbose ?? true;
  const dir = o.database ? null : mkdtempSync(join(tmpdir(), 'hearth-demo-cdc-'));
  const sf = await startSalesforceSim({ pubsub: true });
  let hearth: Hearth | undefined;
  try {
    const config = parseConfig({
      database: o.database ?? `sqlite:${join(dir!, 'demo-cdc.db')}`,
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
    const people = PEOPLE.slice(0, Math.max(1, Math.min(o.edits, PEOPLE.length)));
    const ids = people.map((p) => sf.createContact(p));
    await until(async () => {
      const rows = await db
        .selectFrom('connector_cursors')
        .select('stream')
        .where('connector', '=', 'salesforce')
        .execute();
      return rows.length >= 2;
    });
    if (verbose)
      writeLine(
        io.stdout,
        `Hearth at ${hearth.url} is subscribed to Salesforce CDC (Pub/Sub API at ${sf.pubsub!.url}).`,
      );
    const timings: number[] = [];
    for (const [i, id] of ids.entries()) {
      const started = performance.now();
      sf.updateFromUi(id, MOVES[i]!);
      // Payloads are read and searched here, not with LIKE in SQL: with a data key they are encrypted at rest.
      const event = async (applied: boolean) => {
        let q = db
          .selectFrom('inbox_events')
          .select(['delivery_id', 'status', 'payload'])
          .where('connector', '=', 'salesforce');
        if (applied) q = q.where('status', '=', 'applied');
        return (await q.execute()).find((r) => r.payload.includes(id));
      };
      await until(() => event(false));
      const stored = Math.round(performance.now() - started);
      const row = await until(() => event(true));
      const ms = Math.round(performance.now() - started);
      timings.push(ms);
      writeLine(
        io.stdout,
        `  ${people[i]!.Email} moved to "${MOVES[i]!.MailingStreet}" in Lightning -> arrived over the subscriber ` +
          `in ${stored} ms, applied by Hearth in ${ms} ms (replay id ${row.delivery_id})`,
      );
    }
    if (verbose) {
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
    }
    return timings;
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
