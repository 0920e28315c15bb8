import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEachDialect } from '../../../test-support/dialects.ts';
import { startTestHearth } from '../../../test-support/harness.ts';
import { changeEvent, startSalesforceSim, type SalesforceSim } from '../../../sim/salesforce.ts';
import { createStreamStore } from '../../flows/stream-inbox.ts';
import type { Logger } from '../../log.ts';
import type { StreamStore, StreamSubscriber } from '../common/stream.ts';
import { salesforceConnection, salesforceCredential } from './auth.ts';
import { cdcReaders, createCdcSubscribers, REPULL_STREAM } from './cdc.ts';
import { parseChangeEvents } from './index.ts';
import type { SfReader } from './pull.ts';
import type { SalesforceConfig } from './config.ts';
import type { HearthDb } from '../../db/database.ts';

const TOPIC = '/data/ContactChangeEvent';

/** Records log lines (the expired-replay line is part of the contract). */
function captureLogger(lines: string[]): Logger {
  const log = (_o: unknown, msg?: string) => void lines.push(String(msg ?? _o));
  return { info: log, warn: log, error: log, debug: log } as unknown as Logger;
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

interface Rig {
  sf: SalesforceSim;
  ids: string[];
  lines: string[];
  duplicates: number;
  /** The nth commit carrying events fails (a database error mid-batch); 0: none. */
  failCommit: number;
  start(): StreamSubscriber;
  inbox(): Promise<{ delivery_id: string; payload: string }[]>;
  cursor(stream?: string): Promise<{ position: string | null; repull_pending: boolean }>;
  close(): Promise<void>;
}

let n = 0;
async function rig(hdb: HearthDb, batch = 4): Promise<Rig> {
  const sf = await startSalesforceSim({ pubsub: true });
  const connector = `sf-cdc-${++n}`;
  const ids = [
    sf.createContact({ FirstName: 'Ada', LastName: 'Byron', Email: 'ada@example.com', MailingCity: 'London' }),
    sf.createContact({ FirstName: 'Alan', LastName: 'Turing', Email: 'alan@example.com', MailingCity: 'Wilmslow' }),
  ];
  const cfg: SalesforceConfig = {
    instance_url: sf.url,
    access_token: sf.token,
    api_version: '62.0',
    client_id: 'hearth',
  };
  const base = createStreamStore(hdb, connector);
  const lines: string[] = [];
  const subs: StreamSubscriber[] = [];
  let commits = 0;
  const r: Rig = {
    sf,
    ids,
    lines,
    duplicates: 0,
    failCommit: 0,
    start() {
      const store: StreamStore = {
        load: (s) => base.load(s),
        async commit(s, events, cursor) {
          if (s !== REPULL_STREAM && events.length && ++commits === r.failCommit)
            throw new Error('database went away mid-batch');
          const out = await base.commit(s, events, cursor);
          r.duplicates += out.duplicates;
          return out;
        },
      };
      const [sub] = createCdcSubscribers(
        {
          enabled: true,
          channels: [TOPIC],
          pubsub_url: sf.pubsub!.url,
          org_id: '00D5g000004ABCDEAA',
          batch_size: batch,
        },
        {
          store,
          credential: salesforceCredential(cfg),
          ...cdcReaders(salesforceConnection(cfg).conn as unknown as SfReader),
          instance_url: cfg.instance_url,
          client_id: 'hearth',
          logger: captureLogger(lines),
          min_backoff_ms: 10,
          max_backoff_ms: 50,
        },
      );
      sub!.start();
      subs.push(sub!);
      return sub!;
    },
    inbox: () =>
      hdb.db
        .selectFrom('inbox_events')
        .select(['delivery_id', 'payload'])
        .where('connector', '=', connector)
        .orderBy('id')
        .execute(),
    cursor: (stream = TOPIC) => base.load(stream),
    async close() {
      await Promise.all(subs.map((s) => s.stop()));
      await sf.close();
    },
  };
  return r;
}

/** Subscribed at the tip and the keep-alive's replay id stored: later changes are the subscriber's. */
async function subscribed(r: Rig): Promise<StreamSubscriber> {
  const sub = r.start();
  await waitFor('a stored replay id', async () => (await r.cursor()).position !== null);
  return sub;
}

const uiEdits = (r: Rig, count: number, from = 0) => {
  for (let i = from; i < from + count; i++) r.sf.updateFromUi(r.ids[i % 2]!, { MailingCity: `City ${i}` });
};

function assertExactlyOnce(rows: { delivery_id: string }[], expected: number): void {
  const ids = rows.map((x) => x.delivery_id);
  assert.equal(ids.length, expected, `inbox rows: ${ids.join(', ')}`);
  assert.equal(new Set(ids).size, ids.length, 'no delivery stored twice');
}

describeEachDialect('Salesforce CDC over the Pub/Sub API', (ctx) => {
  let r: Rig;

  test('restart resumes after the stored replay id: none lost, none twice; the same events as the relay', async () => {
    r = await rig(ctx.hdb());
    try {
      const first = await subscribed(r);
      uiEdits(r, 3);
      await waitFor('3 events', async () => (await r.inbox()).length === 3);
      await first.stop();
      uiEdits(r, 2, 3); // changed while Hearth is down
      r.start();
      await waitFor('5 events', async () => (await r.inbox()).length === 5);
      const rows = await r.inbox();
      assertExactlyOnce(rows, 5);
      assert.equal(r.duplicates, 0);
      // The last edit, through the stream and through the relay's JSON, is one canonical event.
      const last = rows.find((x) => x.payload.includes('City 4'))!;
      const streamed = JSON.parse(last.payload);
      const json = changeEvent(Number(last.delivery_id), 1, r.ids[0]!, { MailingCity: 'City 4' }, '');
      json.ChangeEventHeader = { ...(json.ChangeEventHeader as object), commitTimestamp: streamed.occurred_at };
      const [relayed] = parseChangeEvents(
        { rawBody: Buffer.from(JSON.stringify(json)), headers: {}, method: 'POST', url: 'http://h', now: 0 },
        'hearth',
      );
      assert.deepEqual(streamed, relayed!.event);
      assert.equal(last.delivery_id, relayed!.delivery_id);
    } finally {
      await r.close();
    }
  });

  test('stream dropping mid-batch and a failed commit: replayed from the last stored event, none twice', async () => {
    r = await rig(ctx.hdb(), 4);
    try {
      const first = await subscribed(r);
      await first.stop();
      uiEdits(r, 7);
      r.sf.pubsub!.dropAfter(3); // 3 of the 4 requested are sent, then the connection resets
      r.failCommit = 3; // and the first commit after reconnecting fails
      r.start();
      await waitFor('7 events', async () => (await r.inbox()).length === 7);
      assertExactlyOnce(await r.inbox(), 7);
      assert.equal(r.duplicates, 0);
      assert.ok(r.sf.pubsub!.subscribes >= 4, `subscribes: ${r.sf.pubsub!.subscribes}`);
      assert.ok(r.lines.some((l) => /stream failed; reconnecting/.test(l)));
    } finally {
      await r.close();
    }
  });

  test('an expired replay id: a clear log line, a full re-pull, then the stream from the tip', async () => {
    r = await rig(ctx.hdb());
    try {
      const first = await subscribed(r);
      await first.stop();
      uiEdits(r, 2); // missed: they leave the retention window before Hearth comes back
      r.sf.pubsub!.expireThrough(r.sf.pubsub!.publish(TOPIC, changeEvent(0, 0, r.ids[0]!, { Phone: '1' }, '')));
      r.start();
      await waitFor('the re-pull to finish', async () => {
        const c = await r.cursor(REPULL_STREAM);
        return (await r.inbox()).length >= 2 && !c.repull_pending;
      });
      assert.ok(r.lines.some((l) => /replay id is past the retention window/.test(l)));
      const pulled = (await r.inbox()).filter((x) => x.delivery_id.startsWith('repull:'));
      assert.deepEqual(pulled.map((x) => JSON.parse(x.payload).external_id).sort(), [...r.ids].sort());
      // The re-pull carries what the missed events said.
      const ada = JSON.parse(pulled.find((x) => x.payload.includes(r.ids[0]!))!.payload);
      assert.equal(ada.contact.address.city, 'City 0');
      // And the stream goes on from the tip.
      await waitFor('a new replay id', async () => (await r.cursor()).position !== null);
      uiEdits(r, 1, 5);
      await waitFor('the next streamed event', async () => (await r.inbox()).some((x) => /^\d+$/.test(x.delivery_id)));
      assertExactlyOnce(await r.inbox(), 3);
    } finally {
      await r.close();
    }
  });

  test('a schema changed mid-stream: each event decoded with its own schema', async () => {
    r = await rig(ctx.hdb());
    try {
      await subscribed(r);
      uiEdits(r, 1);
      await waitFor('the first event', async () => (await r.inbox()).length === 1);
      r.sf.pubsub!.changeSchema(TOPIC, 'Loyalty_Tier__c');
      r.sf.pubsub!.publish(TOPIC, changeEvent(0, 0, r.ids[1]!, { Loyalty_Tier__c: 'gold', Phone: '+1 555 0100' }, ''));
      await waitFor('the second event', async () => (await r.inbox()).length === 2);
      const second = JSON.parse((await r.inbox())[1]!.payload);
      assert.equal(second.vendor_fields.Loyalty_Tier__c, 'gold');
      assert.equal(second.contact.phone, '+1 555 0100');
      assert.equal(r.sf.pubsub!.schemaFetches, 2);
    } finally {
      await r.close();
    }
  });

  test('gap events re-read those contacts; an overflow owes a full re-pull', async () => {
    r = await rig(ctx.hdb());
    try {
      await subscribed(r);
      r.sf.updateFromUi(r.ids[1]!, { MailingCity: 'Manchester' });
      const gap = changeEvent(0, 0, r.ids[1]!, {}, '');
      gap.ChangeEventHeader = { ...(gap.ChangeEventHeader as object), changeType: 'GAP_UPDATE', changedFields: [] };
      const replay = r.sf.pubsub!.publish(TOPIC, gap);
      await waitFor('the re-read contact', async () =>
        (await r.inbox()).some((x) => x.delivery_id === `${replay}:gap:0`),
      );
      const reread = JSON.parse((await r.inbox()).find((x) => x.delivery_id === `${replay}:gap:0`)!.payload);
      assert.equal(reread.external_id, r.ids[1]);
      assert.equal(reread.contact.address.city, 'Manchester');
      // An Account gap (a channel carrying both objects): the Account is re-read, its primary
      // contact mapped as an Account UPDATE would be.
      const account = r.sf.accounts.createAccount({ Name: 'Byron Household', npe01__One2OneContact__c: r.ids[0]! });
      const accountGap = changeEvent(0, 0, account, {}, '');
      accountGap.ChangeEventHeader = {
        ...(accountGap.ChangeEventHeader as object),
        entityName: 'Account',
        changeType: 'GAP_UPDATE',
        changedFields: [],
      };
      const accountReplay = r.sf.pubsub!.publish(TOPIC, accountGap);
      await waitFor('the re-read account', async () =>
        (await r.inbox()).some((x) => x.delivery_id === `${accountReplay}:gap:0`),
      );
      const head = JSON.parse((await r.inbox()).find((x) => x.delivery_id === `${accountReplay}:gap:0`)!.payload);
      assert.equal(head.type, 'household.changed');
      assert.deepEqual([head.external_id, head.joined.household_external_id], [r.ids[0], account]);
      const overflow = changeEvent(0, 0, r.ids[0]!, {}, '');
      overflow.ChangeEventHeader = {
        ...(overflow.ChangeEventHeader as object),
        changeType: 'GAP_OVERFLOW',
        recordIds: [],
        changedFields: [],
      };
      r.sf.pubsub!.publish(TOPIC, overflow);
      await waitFor('the re-pull', async () => (await r.inbox()).some((x) => x.delivery_id.startsWith('repull:')));
      await waitFor('the owed flag cleared', async () => !(await r.cursor(REPULL_STREAM)).repull_pending);
      assertExactlyOnce(await r.inbox(), 5);
    } finally {
      await r.close();
    }
  });
});

describeEachDialect('hearth serve subscribes to Salesforce CDC', (ctx) => {
  test('a Lightning edit reaches the inbox over the subscriber and is applied', async () => {
    const sf = await startSalesforceSim({ pubsub: true });
    const id = sf.createContact({ FirstName: 'Grace', LastName: 'Hopper', Email: 'grace@example.com' });
    const { hearth } = await startTestHearth(ctx, {
      connectors: {
        salesforce: {
          instance_url: sf.url,
          access_token: sf.token,
          cdc: { enabled: true, org_id: '00D5g000004ABCDEAA', pubsub_url: sf.pubsub!.url },
        },
      },
    });
    try {
      const db = ctx.hdb().db;
      // Both standard channels subscribed (each stored the keep-alive's replay id).
      await waitFor('both channels', async () => {
        const rows = await db
          .selectFrom('connector_cursors')
          .select('stream')
          .where('connector', '=', 'salesforce')
          .execute();
        return rows.filter((r) => r.stream.startsWith('/data/')).length === 2;
      });
      sf.updateFromUi(id, { MailingCity: 'Arlington', MailingStreet: '1 Navy Way' });
      await waitFor('the change applied', async () => {
        const row = await db
          .selectFrom('inbox_events')
          .select('status')
          .where('connector', '=', 'salesforce')
          .executeTakeFirst();
        return row?.status === 'applied';
      });
      const link = await db
        .selectFrom('source_links')
        .select('customer_id')
        .where('system', '=', 'salesforce')
        .where('external_id', '=', id)
        .executeTakeFirst();
      assert.ok(link, 'the crosswalk learned the Salesforce contact');
    } finally {
      await hearth.close();
      await sf.close();
    }
  });
});
