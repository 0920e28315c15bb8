import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import type { ChannelCredentials, Client, ClientDuplexStream, Metadata, ServiceError } from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import type { PackageDefinition } from '@grpc/proto-loader';
import avro from 'avsc';
import type { Type as AvroType } from 'avsc';
import type { ContactSource, InboundEvent, PulledContact } from '../../canonical/types.ts';
import { HearthError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { Credential } from '../common/credentials.ts';
import type { StreamStore, StreamSubscriber } from '../common/stream.ts';
import { type AvroField, gapKind, replayDeliveryId, replayHex, toStreamingShape } from './cdc-event.ts';
import { changeEventsToInbound } from './index.ts';
import type { CdcConfig } from './config.ts';
import { scrubSecrets } from './mapping.ts';
import { createSalesforceSource, type SfReader } from './pull.ts';

// Salesforce Change Data Capture over the Pub/Sub API (gRPC + Avro), chosen over the Streaming
// API (CometD through jsforce) because its subscription is pull-based: Hearth asks for
// `batch_size` events and asks again only after it has stored them (flow control the Streaming
// API does not have); the replay id comes with every event and keep-alive, and each event names
// its Avro schema, so a schema changed mid-stream is fetched and used, not guessed.

export interface CdcDeps {
  store: StreamStore;
  credential: Credential;
  /** Contact reads for re-pulls (gap events: those records; an expired replay id: all). */
  source: ContactSource;
  /** Account reads for Account gap events (`Id`, `npe01__One2OneContact__c`); without, a full re-pull. */
  readAccounts?: (ids: string[]) => Promise<Record<string, unknown>[]>;
  instance_url: string;
  client_id: string;
  logger: Logger;
  now?: (() => number) | undefined;
  onStored?: (() => void) | undefined;
  /** First reconnect wait, doubled up to `max_backoff_ms` (tests shorten both). */
  min_backoff_ms?: number;
  max_backoff_ms?: number;
  random?: () => number;
}

/** The stream row that says a full contact re-pull is owed (shared by the channels of one org). */
export const REPULL_STREAM = 'cdc:repull';
const PAGE = 200;
const SF_ID = /^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$/;
/** Contact fields a re-pull reads besides the standard ones (the NPSP household). */
const EXTRA = ['AccountId'];

interface PubSubClient extends Client {
  Subscribe(md: Metadata): ClientDuplexStream<FetchRequest, FetchResponse>;
  GetSchema(req: { schema_id: string }, md: Metadata, cb: (err: ServiceError | null, res?: SchemaInfo) => void): void;
}
interface FetchRequest {
  topic_name?: string;
  replay_preset?: 'LATEST' | 'EARLIEST' | 'CUSTOM';
  replay_id?: Buffer;
  num_requested: number;
}
interface ConsumerEvent {
  event: { id: string; schema_id: string; payload: Buffer };
  replay_id: Buffer;
}
interface FetchResponse {
  events: ConsumerEvent[];
  latest_replay_id: Buffer;
  rpc_id: string;
  pending_num_requested: number;
}
interface SchemaInfo {
  schema_json: string;
  schema_id: string;
}

let definition: PackageDefinition | undefined;
type PubSubCtor = new (target: string, creds: ChannelCredentials, options?: Record<string, number>) => PubSubClient;

function pubSubClass(): PubSubCtor {
  definition ??= protoLoader.loadSync(fileURLToPath(new URL('./pubsub.proto', import.meta.url)), {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    eventbus: { v1: { PubSub: PubSubCtor } };
  };
  return pkg.eventbus.v1.PubSub;
}

/** `https://host:port` → TLS; `http://` (a loopback simulator) → plaintext. */
function channelOf(url: string): { target: string; creds: ChannelCredentials } {
  const u = new URL(url);
  const port = u.port || (u.protocol === 'http:' ? '80' : '443');
  return {
    target: `${u.hostname}:${port}`,
    creds: u.protocol === 'http:' ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(),
  };
}

/** The expired-replay answer: INVALID_ARGUMENT naming the replay id (`...replayid.corrupted` or "Replay ID"). */
function replayRejected(err: ServiceError): boolean {
  if (err.code !== grpc.status.INVALID_ARGUMENT) return false;
  const code = String(err.metadata?.get('error-code')?.[0] ?? '');
  return /replayid|replay id/i.test(`${code} ${err.details ?? ''}`);
}

/**
 * One subscriber per configured channel (`/data/ContactChangeEvent`, `/data/AccountChangeEvent`,
 * or a custom channel carrying both), sharing one gRPC client, one schema cache and one re-puller.
 */
export function createCdcSubscribers(cfg: CdcConfig, deps: CdcDeps): StreamSubscriber[] {
  if (!cfg.enabled) return [];
  const { target, creds } = channelOf(cfg.pubsub_url);
  let client: PubSubClient | null = null;
  const open = () => {
    // A batch of up to 100 events of up to 1 MB each is more than gRPC's default 4 MB message limit.
    client ??= new (pubSubClass())(target, creds, { 'grpc.max_receive_message_length': 128 * 1024 * 1024 });
    return client;
  };
  const schemas = new Map<string, { type: AvroType; fields: AvroField[] }>();
  const now = deps.now ?? Date.now;
  const metadata = async () => {
    const md = new grpc.Metadata();
    md.set('accesstoken', await deps.credential.token());
    md.set('instanceurl', deps.instance_url);
    md.set('tenantid', cfg.org_id ?? '');
    return md;
  };
  const schemaOf = async (id: string) => {
    const known = schemas.get(id);
    if (known) return known;
    const md = await metadata();
    const info = await new Promise<SchemaInfo>((resolve, reject) =>
      open().GetSchema({ schema_id: id }, md, (err, res) => (err || !res ? reject(err) : resolve(res))),
    );
    const json = JSON.parse(info.schema_json) as { fields: AvroField[] };
    const s = { type: avro.Type.forSchema(json as Parameters<typeof avro.Type.forSchema>[0]), fields: json.fields };
    schemas.set(id, s);
    return s;
  };
  const repull = createRepuller(deps, now);
  const subs = cfg.channels.map((channel) =>
    createChannelSubscriber(channel, cfg.batch_size, { ...deps, now }, { open, metadata, schemaOf, repull }),
  );
  let closed = 0;
  return subs.map((s) => ({
    ...s,
    stop: async () => {
      await s.stop();
      // The shared client closes with the last channel.
      if (++closed === subs.length) {
        await repull.stop();
        client?.close();
        client = null;
      }
    },
  }));
}

interface Shared {
  open(): PubSubClient;
  metadata(): Promise<Metadata>;
  schemaOf(id: string): Promise<{ type: AvroType; fields: AvroField[] }>;
  repull: Repuller;
}

function createChannelSubscriber(
  channel: string,
  batch: number,
  deps: CdcDeps & { now: () => number },
  shared: Shared,
): StreamSubscriber {
  const log = deps.logger;
  const min = deps.min_backoff_ms ?? 500;
  const max = deps.max_backoff_ms ?? 60_000;
  const random = deps.random ?? Math.random;
  let stopped = false;
  let call: ClientDuplexStream<FetchRequest, FetchResponse> | null = null;
  let wake: (() => void) | null = null;
  let loop: Promise<void> | null = null;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  /** One subscription, from the stored replay id, until the stream ends or fails. */
  async function subscribeOnce(onProgress: () => void): Promise<void> {
    const cursor = await deps.store.load(channel);
    const stored = await deps.store.load(REPULL_STREAM);
    call = shared.open().Subscribe(await shared.metadata());
    const first: FetchRequest = cursor.position
      ? {
          topic_name: channel,
          replay_preset: 'CUSTOM',
          replay_id: Buffer.from(cursor.position, 'hex'),
          num_requested: batch,
        }
      : { topic_name: channel, replay_preset: 'LATEST', num_requested: batch };
    call.write(first);
    log.info({ channel, from: cursor.position ? 'stored replay id' : 'latest' }, 'salesforce CDC subscribed');
    // Subscribed at the tip before re-reading: a change made during the re-pull arrives on the stream.
    if (stored.repull_pending) shared.repull.start('a full re-pull was owed at start');
    let outstanding = batch;
    for await (const res of call as AsyncIterable<FetchResponse>) {
      const events = await toInbound(res.events);
      const last = res.events.at(-1);
      // An empty answer is a keep-alive with the latest replay id: storing it keeps the position
      // inside the retention window through quiet periods.
      const position = last
        ? replayHex(last.replay_id)
        : res.latest_replay_id?.length
          ? replayHex(res.latest_replay_id)
          : null;
      if (position) {
        const out = await deps.store.commit(channel, events, { position });
        if (out.accepted) deps.onStored?.();
        if (out.duplicates) log.info({ channel, duplicates: out.duplicates }, 'salesforce CDC: events already stored');
      }
      onProgress();
      // Flow control: ask for the next batch only once the last one asked for is stored.
      if (res.events.length) outstanding = Math.max(0, res.pending_num_requested);
      if (outstanding === 0) {
        call.write({ num_requested: batch });
        outstanding = batch;
      }
      if (stopped) break;
    }
  }

  /** Decodes each event with its own schema (a schema changed mid-stream is fetched once). */
  async function toInbound(list: ConsumerEvent[]): Promise<InboundEvent[]> {
    const out: InboundEvent[] = [];
    for (const ce of list) {
      const { type, fields } = await shared.schemaOf(ce.event.schema_id);
      const decoded = type.fromBuffer(Buffer.from(ce.event.payload)) as Record<string, unknown>;
      const delivery = replayDeliveryId(ce.replay_id);
      const gap = gapKind(decoded);
      if (gap) out.push(...(await onGap(gap, decoded, delivery)));
      else out.push(...mapOne(toStreamingShape(decoded, fields, delivery), delivery));
    }
    return out;
  }

  /**
   * An event the mapping refuses (a value out of bounds) would fail its batch on every replay and
   * stop the stream: it is stored as `unsupported` (visible in the inbox) and the stream goes on.
   */
  function mapOne(event: Record<string, unknown>, delivery: string): InboundEvent[] {
    try {
      return changeEventsToInbound([event], deps.client_id, deps.now);
    } catch (err) {
      if (!(err instanceof HearthError)) throw err;
      log.warn({ channel, delivery, err: err.message }, 'salesforce CDC: event not applicable; stored as unsupported');
      const h = (event.ChangeEventHeader ?? {}) as { entityName?: string; changeType?: string };
      const vendor_type = `${h.entityName ?? '?'}.${h.changeType ?? '?'}`.slice(0, 200);
      return [{ delivery_id: delivery, event: { type: 'unsupported', source: 'salesforce', vendor_type } }];
    }
  }

  /**
   * Gap events carry ids but no values: the Contacts are re-read now and stored with the replay
   * id (a failed read fails the batch, which is then replayed). Overflow and Account gaps name no
   * Contacts: a full re-pull is owed.
   */
  async function onGap(
    kind: 'gap' | 'overflow',
    e: Record<string, unknown>,
    delivery: string,
  ): Promise<InboundEvent[]> {
    const h = (e.ChangeEventHeader ?? {}) as { entityName?: string; recordIds?: string[]; changeType?: string };
    if (kind === 'gap' && h.entityName === 'Account' && deps.readAccounts && h.recordIds?.length)
      return accountGap(h.recordIds, delivery);
    if (kind === 'overflow' || h.entityName !== 'Contact') {
      log.warn(
        { channel, change: `${h.entityName}.${h.changeType}` },
        'salesforce CDC: gap without contact ids; full re-pull',
      );
      await deps.store.commit(REPULL_STREAM, [], { position: null, repull_pending: true });
      shared.repull.start(`${h.entityName}.${h.changeType}`);
      return [];
    }
    const ids = h.recordIds ?? [];
    log.info(
      { channel, records: ids.length, change: h.changeType },
      'salesforce CDC: gap event; re-reading those contacts',
    );
    const out: InboundEvent[] = [];
    for (const [k, id] of ids.entries()) {
      const c = await deps.source.getContact!(id, { extra_properties: EXTRA });
      if (c) out.push({ delivery_id: `${delivery}:gap:${k}`, event: pulledEvent(c, deps.now) });
    }
    return out;
  }

  /**
   * An Account gap: the Accounts are re-read and their primary contact fed through the same
   * mapping as an Account UPDATE (NPSP household head), one event per Account.
   */
  async function accountGap(ids: string[], delivery: string): Promise<InboundEvent[]> {
    log.info({ channel, records: ids.length }, 'salesforce CDC: account gap event; re-reading those accounts');
    const rows = await deps.readAccounts!(ids.filter((id) => SF_ID.test(id)));
    return rows.flatMap((r, k) =>
      mapOne(
        {
          replayId: `${delivery}:gap:${k}`,
          ChangeEventHeader: {
            entityName: 'Account',
            recordIds: [String(r.Id)],
            changeType: 'UPDATE',
            changeOrigin: '',
            commitTimestamp: deps.now(),
          },
          npe01__One2OneContact__c: r.npe01__One2OneContact__c ?? null,
        },
        `${delivery}:gap:${k}`,
      ),
    );
  }

  async function resetExpired(): Promise<void> {
    log.warn(
      { channel },
      'salesforce CDC: the stored replay id is past the retention window (events were missed); ' +
        'subscribing at the tip and re-pulling every contact',
    );
    // Owed first, then reset: a crash in between replays the rejection and owes it again.
    await deps.store.commit(REPULL_STREAM, [], { position: null, repull_pending: true });
    await deps.store.commit(channel, [], { position: null });
  }

  async function run(): Promise<void> {
    let attempt = 0;
    while (!stopped) {
      try {
        await subscribeOnce(() => {
          attempt = 0;
        });
        if (stopped) return;
        log.warn({ channel }, 'salesforce CDC stream ended; reconnecting');
        await sleep(min);
      } catch (err) {
        if (stopped) return;
        const e = err as ServiceError;
        // Nothing here may throw out of the loop (an unhandled rejection would end the process).
        if (
          replayRejected(e) &&
          (await resetExpired().then(
            () => true,
            () => false,
          ))
        )
          continue;
        if (e.code === grpc.status.UNAUTHENTICATED) {
          const md = await shared.metadata().catch(() => null);
          await deps.credential.renew(String(md?.get('accesstoken')[0] ?? '')).catch(() => null);
        }
        const wait = Math.min(max, min * 2 ** attempt) * (0.5 + random() / 2);
        attempt++;
        const msg = scrubSecrets(String(e.message ?? err));
        log.warn({ channel, err: msg, wait_ms: Math.round(wait) }, 'salesforce CDC stream failed; reconnecting');
        await sleep(wait);
      } finally {
        // A failed commit leaves the stream open: close it before resubscribing from the stored id.
        call?.cancel();
        call = null;
      }
    }
  }

  return {
    name: `salesforce:${channel}`,
    start() {
      loop ??= run();
    },
    async stop() {
      stopped = true;
      call?.cancel();
      wake?.();
      await loop;
    },
  };
}

function pulledEvent(c: PulledContact, now: () => number): InboundEvent['event'] {
  return {
    type: 'contact.updated',
    source: 'salesforce',
    external_id: c.external_id,
    contact: c.contact,
    vendor_fields: c.properties,
    origin_is_hearth: false,
    occurred_at: c.updated_at ?? now(),
  };
}

interface Repuller {
  start(reason: string): void;
  stop(): Promise<void>;
}

/**
 * The full re-pull owed after an expired replay id or an overflow: every Contact as a
 * `contact.updated` (delivery ids `repull:<run>:<id>`), a page per transaction; the owed flag
 * is cleared only when the last page is stored, so a restart re-runs an unfinished re-pull.
 */
function createRepuller(deps: CdcDeps, now: () => number): Repuller {
  let running: Promise<void> | null = null;
  let retry: NodeJS.Timeout | null = null;
  let stopped = false;
  let again: string | null = null;
  async function run(reason: string): Promise<void> {
    const runId = now().toString(36);
    deps.logger.warn({ reason }, 'salesforce CDC: full contact re-pull started');
    let cursor: string | null = null;
    let contacts = 0;
    do {
      const page = await deps.source.listContacts(cursor, { limit: PAGE, extra_properties: EXTRA });
      cursor = page.next_cursor;
      const events = page.records.map((c) => ({
        delivery_id: `repull:${runId}:${c.external_id}`,
        event: pulledEvent(c, now),
      }));
      contacts += events.length;
      const done = cursor === null;
      // Cleared only by the last page, and not when another re-pull was owed meanwhile.
      const clear = done && again === null;
      await deps.store.commit(REPULL_STREAM, events, { position: null, ...(clear ? { repull_pending: false } : {}) });
      if (events.length) deps.onStored?.();
    } while (cursor !== null && !stopped);
    deps.logger.info({ contacts }, 'salesforce CDC: full contact re-pull finished');
  }
  const repuller: Repuller = {
    start(reason) {
      // Owed again while one runs (pages it already read may predate the new gap): run once more after.
      if (running) again = reason;
      if (running || stopped) return;
      running = run(reason)
        .catch((err: unknown) => {
          deps.logger.error({ err: scrubSecrets(String(err)) }, 'salesforce CDC: re-pull failed; retried in a minute');
          retry = setTimeout(() => repuller.start(reason), deps.max_backoff_ms ?? 60_000);
        })
        .finally(() => {
          running = null;
          const next = again;
          again = null;
          if (next) repuller.start(next);
        });
    },
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      await running;
    },
  };
  return repuller;
}

/** Contact and Account reads for the CDC subscriber's re-pulls, over one jsforce connection. */
export function cdcReaders(conn: SfReader): Pick<CdcDeps, 'source' | 'readAccounts'> {
  return {
    source: createSalesforceSource(conn),
    readAccounts: async (ids: string[]) => {
      if (!ids.length) return [];
      const list = ids.map((id) => `'${id}'`).join(',');
      const soql = `SELECT Id, npe01__One2OneContact__c FROM Account WHERE Id IN (${list})`;
      const res = (await conn.query(soql, { autoFetch: false, headers: {} })) as { records: Record<string, unknown>[] };
      return res.records;
    },
  };
}
