import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import type { Metadata, sendUnaryData } from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import avro from 'avsc';
import type { Type as AvroType } from 'avsc';

/**
 * A Salesforce Pub/Sub API over loopback gRPC (plaintext), for the CDC subscriber: the same
 * proto (`eventbus.v1.PubSub`: Subscribe, GetSchema, GetTopic), Avro payloads with schema ids,
 * 8-byte replay ids, header field lists as bitmaps over the schema, flow control by
 * `num_requested`, keep-alives carrying `latest_replay_id`, and the vendor's answers to an
 * expired replay id (INVALID_ARGUMENT, `error-code: ...replayid.corrupted`) and a bad token.
 * Faults: drop a stream after n events, a retention window, a changed schema.
 */
export interface PubSubSim {
  url: string;
  /** Publishes a change event in the Streaming API's JSON shape (as `changeEvent()` builds it). */
  publish(topic: string, event: Record<string, unknown>): bigint;
  /** Later events of `topic` use a new schema version (adds a field); earlier ones keep theirs. */
  changeSchema(topic: string, extraField: string): void;
  /** Events up to and including this replay id leave the retention window. */
  expireThrough(replay: bigint): void;
  /** The next subscription fails (UNAVAILABLE) after it has sent this many events. */
  dropAfter(events: number): void;
  /** Events per FetchResponse (default 2: a requested batch spans several responses). */
  perResponse: number;
  readonly subscribes: number;
  readonly schemaFetches: number;
  close(): Promise<void>;
}

export interface PubSubSimOptions {
  /** Access tokens the sim accepts (metadata `accesstoken`). */
  valid: (token: string) => boolean;
}

interface Stored {
  replay: bigint;
  schemaId: string;
  payload: Buffer;
}

const HEADER = {
  type: 'record',
  name: 'ChangeEventHeader',
  fields: [
    { name: 'entityName', type: 'string' },
    { name: 'recordIds', type: { type: 'array', items: 'string' } },
    {
      name: 'changeType',
      type: {
        type: 'enum',
        name: 'ChangeType',
        symbols: [
          'CREATE',
          'UPDATE',
          'DELETE',
          'UNDELETE',
          'GAP_CREATE',
          'GAP_UPDATE',
          'GAP_DELETE',
          'GAP_UNDELETE',
          'GAP_OVERFLOW',
        ],
      },
    },
    { name: 'changeOrigin', type: 'string' },
    { name: 'transactionKey', type: 'string' },
    { name: 'sequenceNumber', type: 'int' },
    { name: 'commitTimestamp', type: 'long' },
    { name: 'commitNumber', type: 'long' },
    { name: 'commitUser', type: 'string' },
    { name: 'nulledFields', type: { type: 'array', items: 'string' } },
    { name: 'diffFields', type: { type: 'array', items: 'string' } },
    { name: 'changedFields', type: { type: 'array', items: 'string' } },
  ],
};
const opt = (name: string, type: unknown = 'string') => ({ name, type: ['null', type], default: null });

function contactSchema(extra: string[]): Record<string, unknown> {
  return {
    type: 'record',
    name: 'ContactChangeEvent',
    namespace: 'com.sforce.eventbus',
    fields: [
      { name: 'ChangeEventHeader', type: HEADER },
      opt('Name', {
        type: 'record',
        name: 'Switchable_PersonName',
        fields: [opt('Salutation'), opt('FirstName'), opt('LastName')],
      }),
      opt('Email'),
      opt('Phone'),
      opt('MailingAddress', {
        type: 'record',
        name: 'Address',
        fields: [opt('Street'), opt('City'), opt('State'), opt('PostalCode'), opt('Country')],
      }),
      opt('AccountId'),
      opt('LastModifiedDate', 'long'),
      ...extra.map((f) => opt(f)),
    ],
  };
}

function accountSchema(extra: string[]): Record<string, unknown> {
  return {
    type: 'record',
    name: 'AccountChangeEvent',
    namespace: 'com.sforce.eventbus',
    fields: [
      { name: 'ChangeEventHeader', type: HEADER },
      opt('Name'),
      opt('npe01__One2OneContact__c'),
      opt('LastModifiedDate', 'long'),
      ...extra.map((f) => opt(f)),
    ],
  };
}

interface Fields {
  name: string;
  type: unknown;
}

/** `Name.FirstName` / `MailingCity` / `Email` as the bitmap entries Pub/Sub puts in headers. */
export function toBitmaps(names: readonly string[], fields: readonly Fields[]): string[] {
  let top = 0n;
  const nested = new Map<number, bigint>();
  const flat: Record<string, string> = {
    MailingStreet: 'MailingAddress.Street',
    MailingCity: 'MailingAddress.City',
    MailingState: 'MailingAddress.State',
    MailingPostalCode: 'MailingAddress.PostalCode',
    MailingCountry: 'MailingAddress.Country',
    FirstName: 'Name.FirstName',
    LastName: 'Name.LastName',
  };
  for (const raw of names) {
    const name = flat[raw] ?? raw;
    const [parent, child] = name.split('.');
    const i = fields.findIndex((f) => f.name === parent);
    if (i < 0) continue;
    if (!child) top |= 1n << BigInt(i);
    else {
      const sub = ((fields[i]!.type as unknown[])[1] as { fields: Fields[] }).fields;
      const j = sub.findIndex((f) => f.name === child);
      if (j >= 0) nested.set(i, (nested.get(i) ?? 0n) | (1n << BigInt(j)));
    }
  }
  return [...(top ? [`0x${top.toString(16)}`] : []), ...[...nested].map(([i, bits]) => `${i}-0x${bits.toString(16)}`)];
}

/** The JSON shape (changed fields only) as the Avro record: every field present, unchanged ones null. */
function toRecord(event: Record<string, unknown>, schema: { fields: Fields[] }): Record<string, unknown> {
  const h = event.ChangeEventHeader as Record<string, unknown>;
  const header = {
    entityName: String(h.entityName ?? ''),
    recordIds: (h.recordIds as string[]) ?? [],
    changeType: String(h.changeType ?? 'UPDATE'),
    changeOrigin: String(h.changeOrigin ?? ''),
    transactionKey: String(h.transactionKey ?? ''),
    sequenceNumber: Number(h.sequenceNumber ?? 1),
    commitTimestamp: Number(h.commitTimestamp ?? Date.now()),
    commitNumber: Number(h.commitNumber ?? 1),
    commitUser: String(h.commitUser ?? ''),
    nulledFields: toBitmaps((h.nulledFields as string[]) ?? [], schema.fields),
    diffFields: [],
    changedFields: toBitmaps((h.changedFields as string[]) ?? [], schema.fields),
  };
  const out: Record<string, unknown> = { ChangeEventHeader: header };
  for (const f of schema.fields) {
    if (f.name === 'ChangeEventHeader') continue;
    const v = event[f.name];
    if (f.name === 'LastModifiedDate') out[f.name] = typeof v === 'string' ? Date.parse(v) : (v ?? null);
    else if (v && typeof v === 'object') {
      const sub = ((f.type as unknown[])[1] as { fields: Fields[] }).fields;
      out[f.name] = Object.fromEntries(sub.map((s) => [s.name, (v as Record<string, unknown>)[s.name] ?? null]));
    } else out[f.name] = v === undefined || v === null ? null : String(v);
  }
  return out;
}

const replayBytes = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
};

export async function startPubSubSim(o: PubSubSimOptions): Promise<PubSubSim> {
  const def = protoLoader.loadSync(
    fileURLToPath(new URL('../src/connectors/salesforce/pubsub.proto', import.meta.url)),
    { keepCase: true, longs: String, enums: String, defaults: true },
  );
  const pkg = grpc.loadPackageDefinition(def) as any;
  const schemas = new Map<string, { json: string; type: AvroType; fields: Fields[] }>();
  const current = new Map<string, string>();
  const logs = new Map<string, Stored[]>();
  const extras = new Map<string, string[]>();
  const pumps = new Set<() => void>();
  let next = 1000n;
  let retainedAfter = 0n;
  let dropAfterEvents: number | null = null;
  let subscribes = 0;
  let schemaFetches = 0;

  const register = (schema: Record<string, unknown>): string => {
    const json = JSON.stringify(schema);
    const id = createHash('sha256').update(json).digest('hex').slice(0, 22);
    schemas.set(id, {
      json,
      type: avro.Type.forSchema(schema as Parameters<typeof avro.Type.forSchema>[0]),
      fields: schema.fields as Fields[],
    });
    return id;
  };
  const schemaFor = (topic: string): string => {
    let id = current.get(topic);
    if (!id) {
      const extra = extras.get(topic) ?? [];
      id = register(/Account/.test(topic) ? accountSchema(extra) : contactSchema(extra));
      current.set(topic, id);
    }
    return id;
  };
  const auth = (md: Metadata): boolean => o.valid(String(md.get('accesstoken')[0] ?? ''));
  const fail = (code: number, details: string, meta: Record<string, string> = {}) => {
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(meta)) metadata.set(k, v);
    return Object.assign(new Error(details), { code, details, metadata });
  };

  const server = new grpc.Server();
  server.addService(pkg.eventbus.v1.PubSub.service, {
    GetSchema(call: any, cb: sendUnaryData<unknown>) {
      if (!auth(call.metadata)) return cb(fail(grpc.status.UNAUTHENTICATED, 'Invalid session'));
      schemaFetches++;
      const s = schemas.get(call.request.schema_id);
      if (!s) return cb(fail(grpc.status.NOT_FOUND, `unknown schema ${call.request.schema_id}`));
      cb(null, { schema_json: s.json, schema_id: call.request.schema_id, rpc_id: 'sim' });
    },
    GetTopic(call: any, cb: sendUnaryData<unknown>) {
      const t = call.request.topic_name as string;
      cb(null, { topic_name: t, tenant_guid: 'sim', can_publish: false, can_subscribe: true, schema_id: schemaFor(t) });
    },
    Subscribe(call: any) {
      subscribes++;
      if (!auth(call.metadata)) return call.emit('error', fail(grpc.status.UNAUTHENTICATED, 'Invalid session'));
      let topic = '';
      let after: bigint | null = null; // last replay delivered to this subscriber
      let pending = 0;
      let sent = 0;
      let idleSent = false;
      let ended = false;
      const dropAt = dropAfterEvents;
      dropAfterEvents = null;
      const pump = () => {
        if (ended || !topic) return;
        const log = logs.get(topic) ?? [];
        const ready = log.filter((e) => after === null || e.replay > after);
        if (pending > 0 && ready.length === 0 && !idleSent) {
          idleSent = true;
          const latest = log.at(-1)?.replay ?? after ?? next - 1n;
          call.write({
            events: [],
            latest_replay_id: replayBytes(latest),
            rpc_id: 'sim',
            pending_num_requested: pending,
          });
        }
        while (pending > 0 && ready.length > 0) {
          let n = Math.min(pending, sim.perResponse, ready.length);
          if (dropAt !== null) n = Math.min(n, dropAt - sent);
          if (n <= 0) {
            ended = true;
            pumps.delete(pump);
            return call.emit('error', fail(grpc.status.UNAVAILABLE, 'connection reset by the simulator'));
          }
          const batch = ready.splice(0, n);
          pending -= n;
          sent += n;
          after = batch.at(-1)!.replay;
          idleSent = false;
          call.write({
            events: batch.map((e) => ({
              event: { id: `ev-${e.replay}`, schema_id: e.schemaId, payload: e.payload, headers: [] },
              replay_id: replayBytes(e.replay),
            })),
            latest_replay_id: replayBytes(after),
            rpc_id: 'sim',
            pending_num_requested: pending,
          });
        }
      };
      call.on(
        'data',
        (req: { topic_name: string; replay_preset: string; replay_id: Buffer; num_requested: number }) => {
          if (!topic) {
            topic = req.topic_name;
            const log = logs.get(topic) ?? [];
            if (req.replay_preset === 'CUSTOM') {
              const r = req.replay_id.length === 8 ? req.replay_id.readBigUInt64BE(0) : -1n;
              if (r < retainedAfter || r < 0n) {
                ended = true;
                return call.emit(
                  'error',
                  fail(grpc.status.INVALID_ARGUMENT, 'The Replay ID validation failed.', {
                    'error-code': 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted',
                  }),
                );
              }
              after = r;
            } else if (req.replay_preset === 'EARLIEST') after = retainedAfter;
            else after = log.at(-1)?.replay ?? next - 1n;
            pumps.add(pump);
          }
          pending += req.num_requested;
          pump();
        },
      );
      const end = () => {
        ended = true;
        pumps.delete(pump);
      };
      call.on('cancelled', end);
      call.on('end', () => {
        end();
        call.end();
      });
      call.on('error', end);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );

  const sim: PubSubSim = {
    url: `http://127.0.0.1:${port}`,
    perResponse: 2,
    get subscribes() {
      return subscribes;
    },
    get schemaFetches() {
      return schemaFetches;
    },
    publish(topic, event) {
      const schemaId = schemaFor(topic);
      const s = schemas.get(schemaId)!;
      const replay = next++;
      const stored = { replay, schemaId, payload: s.type.toBuffer(toRecord(event, s)) };
      logs.set(topic, [...(logs.get(topic) ?? []), stored]);
      for (const p of pumps) p();
      return replay;
    },
    changeSchema(topic, extraField) {
      extras.set(topic, [...(extras.get(topic) ?? []), extraField]);
      current.delete(topic);
    },
    expireThrough(replay) {
      retainedAfter = replay;
      for (const [t, log] of logs)
        logs.set(
          t,
          log.filter((e) => e.replay > replay),
        );
    },
    dropAfter(events) {
      dropAfterEvents = events;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
  return sim;
}
