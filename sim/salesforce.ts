import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createFaults, delay, type Faults } from './faults.ts';
import { listen, parseJson, postQuietly, readBody, sendJson } from './http.ts';
import { createOAuthSim, tokenParams, type OAuthSim, type OAuthSimOptions } from './oauth.ts';
import { createAccountStore, type SalesforceAccountSim } from './salesforce-accounts.ts';
import { startPubSubSim, type PubSubSim } from './salesforce-pubsub.ts';

export interface SalesforceSim {
  /** The token endpoint, when started with `oauth`. */
  oauth: OAuthSim | null;
  url: string;
  token: string;
  readonly requests: number;
  createContact(fields: Record<string, string>): string;
  getContact(id: string): Record<string, string | null> | undefined;
  /** A human edits the contact in Lightning (CDC reports an empty changeOrigin). */
  updateFromUi(id: string, fields: Record<string, string | null>): void;
  /** API writes to a contact (changed fields only), with their times. */
  history(id: string): { at: number; fields: Record<string, string | null> }[];
  writes(id: string): number;
  faults: Faults;
  /** NPSP Household Accounts (members: Contacts with that AccountId). */
  accounts: SalesforceAccountSim;
  /** The Pub/Sub API (CDC over gRPC), when started with `pubsub`: every contact change is published. */
  pubsub: PubSubSim | null;
  close(): Promise<void>;
}

export interface SalesforceSimOptions {
  port?: number;
  token?: string;
  /** A connected app's token endpoint (`POST /services/oauth2/token`: refresh token, JWT bearer). */
  oauth?: OAuthSimOptions;
  /** Relay Change Data Capture events to Hearth, signed like Hearth's relay contract. */
  cdc?: { url: string; secret: string };
  /** Serve Change Data Capture over the Pub/Sub API (`/data/ContactChangeEvent`) on a loopback gRPC port. */
  pubsub?: boolean;
}

type Reply = { status: number; body?: unknown };
const MAX_COLLECTION = 200;
const MAILING = {
  MailingStreet: 'Street',
  MailingCity: 'City',
  MailingState: 'State',
  MailingPostalCode: 'PostalCode',
  MailingCountry: 'Country',
} as const;
const NAME = { FirstName: 'FirstName', LastName: 'LastName' } as const;

/**
 * A Salesforce-compatible REST endpoint over loopback for jsforce: SOQL on Contact, sObject
 * get/update, sObject Collections update, Salesforce's error-array shapes, fault injection, and
 * ContactChangeEvents relayed to Hearth with `changeOrigin` from `Sforce-Call-Options`.
 */
export async function startSalesforceSim(opts: SalesforceSimOptions = {}): Promise<SalesforceSim> {
  const token = opts.token ?? '00D-demo-session';
  const contacts = new Map<string, Record<string, string | null>>();
  const writes = new Map<string, { at: number; fields: Record<string, string | null> }[]>();
  const relay = cdcRelay(opts.cdc);
  const faults = createFaults();
  const oauth = opts.oauth ? createOAuthSim('/services/oauth2/token', { ttl_s: null, ...opts.oauth }) : null;
  const accounts = createAccountStore();
  const pubsub = opts.pubsub ? await startPubSubSim({ valid: (t) => t === token || oauth?.valid(t) === true }) : null;
  let streamed = 9000;
  const cursors = new Map<string, { ids: string[]; fields: string[]; batch: number }>();
  let requests = 0;
  let seq = 1;

  const update = (id: string, fields: Record<string, unknown>, origin: string, api: boolean) => {
    const c = contacts.get(id)!;
    const changed = Object.fromEntries(
      Object.entries(fields).filter(([k, v]) => k !== 'Id' && k !== 'attributes' && c[k] !== v),
    ) as Record<string, string | null>;
    Object.assign(c, changed);
    if (api) writes.set(id, [...(writes.get(id) ?? []), { at: Date.now(), fields: changed }]);
    relay(id, changed, origin);
    if (pubsub && Object.keys(changed).length)
      pubsub.publish('/data/ContactChangeEvent', changeEvent(streamed, streamed++, id, changed, origin));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requests++;
    const text = await readBody(req);
    await delay(faults.plan);
    const fault = faults.next();
    if (fault === 'drop') return void req.socket.destroy();
    if (fault === 'rate_limit')
      return send(res, {
        status: 403,
        body: [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }],
      });
    if (fault === 'server_error')
      return send(res, { status: 503, body: [{ message: 'Service Unavailable', errorCode: 'SERVER_UNAVAILABLE' }] });
    const tokenUrl = new URL(req.url ?? '/', 'http://sim');
    if (oauth?.handle(tokenUrl.pathname, req.method ?? 'GET', tokenParams(tokenUrl, text), res)) return;
    const bearer = req.headers.authorization?.replace(/^Bearer /, '');
    if (bearer !== token && !oauth?.valid(bearer))
      return send(res, {
        status: 401,
        body: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }],
      });
    const body = parseJson(text);
    if (body === undefined)
      return send(res, {
        status: 400,
        body: [{ message: 'Unexpected character in JSON body', errorCode: 'JSON_PARSER_ERROR' }],
      });
    // The API name and version jsforce called, plus its call options: what CDC reports as changeOrigin.
    const url = new URL(req.url ?? '/', 'http://sim');
    const version = /^\/services\/data\/v([\d.]+)/.exec(url.pathname)?.[1] ?? '62.0';
    const origin = `com/salesforce/api/rest/${version};${String(req.headers['sforce-call-options'] ?? '')}`;
    send(res, route(req.method ?? 'GET', url, body as any, origin, batchSize(req.headers['sforce-query-options'])));
  }

  function route(method: string, url: URL, body: any, origin: string, batch = 2000): Reply {
    const path = url.pathname.replace(/^\/services\/data\/v[\d.]+/, '');
    if (method === 'GET' && path === '/query') return query(url.searchParams.get('q') ?? '', batch);
    const more = /^\/query\/(01g\w+)-(\d+)$/.exec(path);
    if (method === 'GET' && more) return queryMore(more[1]!, Number(more[2]));
    if (method === 'PATCH' && path === '/composite/sobjects') return collectionUpdate(body, origin);
    const m = /^\/sobjects\/Contact\/(\w+)$/.exec(path);
    if (!m) return notFound();
    const id = m[1]!;
    if (!contacts.has(id))
      return /^003\w{12}(\w{3})?$/.test(id)
        ? notFound()
        : { status: 400, body: [{ message: `Contact id: ${id}`, errorCode: 'MALFORMED_ID', fields: ['Id'] }] };
    if (method === 'GET')
      return {
        status: 200,
        body: {
          attributes: { type: 'Contact', url: `/services/data/v62.0/sobjects/Contact/${id}` },
          Id: id,
          ...contacts.get(id),
        },
      };
    if (method === 'PATCH') return (update(id, body, origin, true), { status: 204 });
    if (method === 'DELETE') {
      const reject = faults.plan.reject_delete;
      if (reject) return { status: reject.status, body: [{ message: reject.message, errorCode: 'DELETE_FAILED' }] };
      return (contacts.delete(id), { status: 204 });
    }
    return notFound();
  }

  function collectionUpdate(body: any, origin: string): Reply {
    const records: Record<string, unknown>[] = Array.isArray(body.records) ? body.records : [];
    if (records.length > MAX_COLLECTION)
      return {
        status: 400,
        body: [
          { message: `The number of records can't be more than ${MAX_COLLECTION}`, errorCode: 'EXCEEDED_ID_LIMIT' },
        ],
      };
    return {
      status: 200,
      body: records.map((r) => {
        const id = String(r.id ?? r.Id ?? '');
        if (!contacts.has(id))
          return {
            success: false,
            errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }],
          };
        update(id, r, origin, true);
        return { id, success: true, errors: [] };
      }),
    };
  }

  // Enough SOQL for `SELECT ... FROM Contact WHERE Email IN ('a', 'b')` / `WHERE Id = '...'`, and
  // `SELECT ... FROM Contact` (no WHERE: every contact) paged by `Sforce-Query-Options: batchSize=n`.
  function query(soql: string, batch = 2000): Reply {
    if (/\bFROM\s+Account\b/i.test(soql)) return accounts.query(soql);
    if (!/\bFROM\s+Contact\b/i.test(soql))
      return { status: 400, body: [{ message: 'sObject type is not supported.', errorCode: 'INVALID_TYPE' }] };
    const keys = [...soql.matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1').toLowerCase());
    const fields = (/^\s*SELECT\s+(.+?)\s+FROM\b/i.exec(soql)?.[1] ?? 'Id')
      .split(',')
      .map((f) => f.trim())
      .filter((f) => f !== 'Id');
    const all = !/\bWHERE\b/i.test(soql);
    const ids = [...contacts.entries()]
      .filter(([Id, c]) => all || keys.includes((c.Email ?? '').toLowerCase()) || keys.includes(Id.toLowerCase()))
      .map(([Id]) => Id);
    const cursor = { ids, fields, batch };
    if (ids.length <= batch)
      return {
        status: 200,
        body: { totalSize: ids.length, done: true, records: ids.map((id) => sfRecord(id, fields)) },
      };
    const qid = `01gSIM${String(cursors.size + 1).padStart(10, '0')}`;
    cursors.set(qid, cursor);
    return queryMore(qid, 0);
  }

  // A query locator: the rest of a result set, `batch` records a page (`nextRecordsUrl` until `done`).
  function queryMore(qid: string, offset: number): Reply {
    const c = cursors.get(qid);
    if (!c || offset > c.ids.length)
      return { status: 400, body: [{ message: 'invalid query locator', errorCode: 'INVALID_QUERY_LOCATOR' }] };
    const next = offset + c.batch;
    const done = next >= c.ids.length;
    const records = c.ids
      .slice(offset, next)
      .filter((id) => contacts.has(id))
      .map((id) => sfRecord(id, c.fields));
    return {
      status: 200,
      body: {
        totalSize: c.ids.length,
        done,
        ...(done ? {} : { nextRecordsUrl: `/services/data/v62.0/query/${qid}-${next}` }),
        records,
      },
    };
  }

  function sfRecord(Id: string, fields: string[]) {
    const c = contacts.get(Id)!;
    return {
      attributes: { type: 'Contact', url: `/services/data/v62.0/sobjects/Contact/${Id}` },
      Id,
      ...Object.fromEntries(fields.map((f) => [f, c[f] ?? null])),
    };
  }

  const server = await listen(handle, opts.port);
  return {
    oauth,
    url: server.url,
    token,
    get requests() {
      return requests;
    },
    createContact: (fields) => {
      const id = `0035g00000${String(seq++).padStart(5, '0')}AAA`;
      contacts.set(id, { ...fields });
      return id;
    },
    getContact: (id) => contacts.get(id),
    updateFromUi: (id, fields) => update(id, fields, '', false),
    history: (id) => writes.get(id) ?? [],
    writes: (id) => writes.get(id)?.length ?? 0,
    faults,
    accounts,
    pubsub,
    close: async () => {
      await pubsub?.close();
      await server.close();
    },
  };
}

/** `Sforce-Query-Options: batchSize=500`: records per query page (Salesforce: 200..2000, default 2000). */
function batchSize(header: string | string[] | undefined): number {
  const n = Number(/batchSize=(\d+)/i.exec(String(header ?? ''))?.[1]);
  return Number.isInteger(n) && n > 0 ? Math.min(n, 2000) : 2000;
}

const notFound = (): Reply => ({
  status: 404,
  body: [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }],
});

function send(res: ServerResponse, r: Reply): void {
  if (r.status === 204) return void res.writeHead(204, { 'sforce-limit-info': 'api-usage=18/15000' }).end();
  sendJson(res, r.status, r.body ?? {}, { 'sforce-limit-info': 'api-usage=18/15000' });
}

/** A relay's forward of one ContactChangeEvent (UPDATE), compound fields nested as CDC sends them. */
function cdcRelay(cdc: SalesforceSimOptions['cdc']) {
  let replay = 5000;
  let commit = 11006708389510;
  return (id: string, changed: Record<string, string | null>, origin: string): void => {
    if (!cdc || Object.keys(changed).length === 0) return;
    const body = JSON.stringify(changeEvent(replay++, commit++, id, changed, origin));
    const sig = createHmac('sha256', cdc.secret).update(body).digest('hex');
    void postQuietly(cdc.url, { 'x-hearth-signature': `sha256=${sig}` }, body);
  };
}

export function changeEvent(
  replayId: number,
  commitNumber: number,
  id: string,
  changed: Record<string, string | null>,
  origin: string,
): Record<string, unknown> {
  const event: Record<string, unknown> = {};
  const changedFields: string[] = [];
  const nest = (compound: string, part: string, v: string | null) => {
    event[compound] = { ...(event[compound] as object | undefined), [part]: v };
    changedFields.push(`${compound}.${part}`);
  };
  for (const [k, v] of Object.entries(changed)) {
    if (k in MAILING) nest('MailingAddress', MAILING[k as keyof typeof MAILING], v);
    else if (k in NAME) nest('Name', NAME[k as keyof typeof NAME], v);
    else {
      event[k] = v;
      changedFields.push(k);
    }
  }
  const now = Date.now();
  event.LastModifiedDate = new Date(now).toISOString();
  const header = {
    entityName: 'Contact',
    recordIds: [id],
    changeType: 'UPDATE',
    changeOrigin: origin,
    transactionKey: `tx-${commitNumber}`,
    sequenceNumber: 1,
    commitTimestamp: now,
    commitNumber,
    commitUser: '0055g000005mc66AAA',
    nulledFields: Object.keys(changed).filter((k) => changed[k] === null),
    diffFields: [],
    changedFields: [...changedFields, 'LastModifiedDate'],
  };
  return { replayId, ChangeEventHeader: header, ...event };
}
