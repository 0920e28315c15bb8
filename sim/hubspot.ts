import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createFaults, delay, type Faults } from './faults.ts';
import { listen, parseJson, postQuietly, readBody, sendJson } from './http.ts';
import { createOAuthSim, tokenParams, type OAuthSim, type OAuthSimOptions } from './oauth.ts';
import { createHouseholdRoutes, type HouseholdRoutes, type HubSpotHouseholdSim } from './hubspot-households.ts';

export type { FaultPlan } from './faults.ts';

export interface SimContact {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
}

export interface HubSpotSim {
  /** The token endpoint, when started with `oauth`. */
  oauth: OAuthSim | null;
  url: string;
  token: string;
  /** Requests received (including faulted ones). */
  readonly requests: number;
  /** Requests left unanswered by `hang_if_body_includes`. */
  readonly hung: number;
  /** Drops the connections of the requests left hanging (the caller sees a reset). */
  releaseHung(): void;
  createContact(props: Record<string, string>): string;
  getContact(id: string): SimContact | undefined;
  listContacts(): SimContact[];
  /** A human edits the contact in the CRM UI (reported to Hearth as CRM_UI). */
  updateFromUi(id: string, props: Record<string, string>): void;
  /** API writes to a contact, with their times (to measure the sync window). */
  history(id: string): { at: number; properties: Record<string, string | null> }[];
  /** Number of API writes to a contact. */
  writes(id: string): number;
  faults: Faults;
  /** Companies and associations (households). */
  households: HubSpotHouseholdSim & Pick<HouseholdRoutes, 'labels'>;
  close(): Promise<void>;
}

export interface HubSpotSimOptions {
  port?: number;
  token?: string;
  /** An OAuth app's token endpoint (`POST /oauth/v1/token`); its issued tokens are accepted too. */
  oauth?: OAuthSimOptions;
  /** Scopes the OAuth token introspection reports (default: contacts read and write). */
  scopes?: string[];
  /** Contact properties that do not exist (the doctor's property check). */
  missing_properties?: string[];
  /** Household association labels the portal does not have yet (the doctor's label check). */
  missing_labels?: string[];
  /** Send every change to Hearth as signed v3 `contact.propertyChange` deliveries. */
  webhook?: { url: string; client_secret: string; app_id: string };
}

// HubSpot's own 429 body for the rolling ten-second limit (hubspot.md §6); the SDK keys its retry on policyName.
const RATE_LIMIT_BODY = {
  status: 'error',
  message: 'You have reached your ten_secondly_rolling limit.',
  errorType: 'RATE_LIMIT',
  correlationId: '20f98dfa-05b6-4d27-8d96-ecfde54ca211',
  policyName: 'TEN_SECONDLY_ROLLING',
  groupName: 'publicapi:private_app-api-calls-ten-secondly:1512050:26892217',
};
const DEFAULT_PROPS = ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'];
const READ_ONLY = new Set(['hs_object_id', 'createdate', 'lastmodifieddate']);
const BASE = '/crm/v3/objects/contacts';
const MAX_BATCH = 100;

type Source = 'INTEGRATION' | 'CRM_UI';
type Reply = { status: number; body?: unknown };

/**
 * A HubSpot-compatible CRM over loopback: the contacts endpoints the official SDK calls, bearer
 * auth, HubSpot's error and 429 shapes, fault injection, and signed v3 webhooks back to Hearth.
 */
export async function startHubSpotSim(opts: HubSpotSimOptions = {}): Promise<HubSpotSim> {
  const token = opts.token ?? 'pat-demo-token';
  const store = createStore(opts.webhook);
  const households = createHouseholdRoutes(opts.webhook, opts.missing_labels);
  const faults = createFaults();
  const oauth = opts.oauth ? createOAuthSim('/oauth/v1/token', opts.oauth) : null;
  const missing = new Set(opts.missing_properties ?? []);
  let requests = 0;
  let hung = 0;
  const hanging: IncomingMessage[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requests++;
    const text = await readBody(req);
    const hang = faults.plan.hang_if_body_includes;
    if (hang && text.includes(hang)) return void (hung++, hanging.push(req));
    await delay(faults.plan);
    const fault = faults.next();
    if (fault === 'drop') return void req.socket.destroy();
    if (fault === 'rate_limit') return sendJson(res, 429, RATE_LIMIT_BODY, retryAfterHeader(faults.plan.retry_after_s));
    if (fault === 'server_error') return sendJson(res, 503, error('SERVICE_UNAVAILABLE', 'Service Unavailable'));
    const url = new URL(req.url ?? '/', 'http://sim');
    if (oauth?.handle(url.pathname, req.method ?? 'GET', tokenParams(url, text), res)) return;
    const introspected = /^\/oauth\/v1\/access-tokens\/(.+)$/.exec(url.pathname)?.[1];
    if (introspected && oauth?.valid(decodeURIComponent(introspected)))
      return sendJson(res, 200, {
        token: decodeURIComponent(introspected),
        scopes: opts.scopes ?? ['crm.objects.contacts.read', 'crm.objects.contacts.write'],
        hub_id: 1512050,
        app_id: 26892217,
        expires_in: 1800,
      });
    const bearer = req.headers.authorization?.replace(/^Bearer /, '');
    if (bearer !== token && !oauth?.valid(bearer))
      return sendJson(
        res,
        401,
        error(
          'INVALID_AUTHENTICATION',
          'Authentication credentials not found. This API supports OAuth 2.0 authentication.',
        ),
      );
    const body = parseJson(text);
    if (req.method === 'POST' && url.pathname === `${BASE}/gdpr-delete`) {
      const r = gdprDelete(store, body as any, faults.plan.reject_delete);
      return sendJson(res, r.status, r.body ?? null);
    }
    if (req.method === 'POST' && url.pathname === '/crm/v3/properties/contacts') {
      const created = (body as { name?: string } | undefined)?.name;
      if (!created) return sendJson(res, 400, error('VALIDATION_ERROR', 'name is required'));
      if (!missing.has(created))
        return sendJson(res, 409, error('CONFLICT', `A property named '${created}' already exists.`));
      missing.delete(created);
      return sendJson(res, 201, { ...(body as object), createdAt: new Date().toISOString() });
    }
    const property = /^\/crm\/v3\/properties\/contacts\/([^/]+)$/.exec(url.pathname)?.[1];
    if (property && req.method === 'GET')
      return missing.has(property)
        ? sendJson(res, 404, error('OBJECT_NOT_FOUND', `Unable to find property ${property}`))
        : sendJson(res, 200, { name: property, type: 'string', fieldType: 'text', groupName: 'contactinformation' });
    const reply =
      body === undefined
        ? { status: 400, body: error('VALIDATION_ERROR', 'Invalid input JSON') }
        : (households.route(req.method ?? 'GET', url.pathname.replace(/\/$/, ''), body) ??
          route(store, req.method ?? 'GET', url, body as any));
    sendJson(res, reply.status, reply.body ?? {}, rateLimitHeaders(requests));
  }

  const server = await listen(handle, opts.port);
  return {
    oauth,
    url: server.url,
    token,
    get requests() {
      return requests;
    },
    get hung() {
      return hung;
    },
    releaseHung: () => {
      for (const req of hanging.splice(0)) req.socket.destroy();
    },
    createContact: (props) => store.create(props),
    getContact: (id) => store.contacts.get(id),
    listContacts: () => [...store.contacts.values()],
    updateFromUi: (id, props) => void store.update(id, props, 'CRM_UI'),
    history: (id) => store.writes.get(id) ?? [],
    writes: (id) => store.writes.get(id)?.length ?? 0,
    faults,
    households,
    close: server.close,
  };
}

/** GDPR delete: by id or `idProperty` (email); permanent. 204, or 404 when no such contact. */
function gdprDelete(store: Store, body: any, reject: { status: number; message: string } | undefined): Reply {
  if (reject) return { status: reject.status, body: error('VALIDATION_ERROR', reject.message) };
  const c = store.find(String(body?.objectId ?? ''), body?.idProperty ?? null);
  if (!c) return { status: 404, body: error('OBJECT_NOT_FOUND', 'Object not found.') };
  store.remove(c.id);
  return { status: 204 };
}

function route(store: Store, method: string, url: URL, body: any): Reply {
  const path = url.pathname.replace(/\/$/, '');
  if (method === 'POST' && path === `${BASE}/search`) return search(store, body);
  if (method === 'POST' && path === `${BASE}/batch/read`) return batchRead(store, body);
  if (method === 'POST' && path === `${BASE}/batch/update`) return batchUpdate(store, body);
  if (method === 'POST' && path === BASE) return createOne(store, body);
  if (method === 'GET' && path === BASE) return list(store, url.searchParams);
  const m = new RegExp(`^${BASE}/([^/]+)$`).exec(path);
  if (!m) return { status: 404, body: error('OBJECT_NOT_FOUND', `No route for ${method} ${path}`) };
  const c = store.find(decodeURIComponent(m[1]!), url.searchParams.get('idProperty'));
  if (!c) return { status: 404, body: error('OBJECT_NOT_FOUND', 'Object not found.  objectId are usually numeric.') };
  if (method === 'GET') return { status: 200, body: view(c, requested(url.searchParams)) };
  if (method === 'PATCH') return patch(store, c, body);
  return { status: 405, body: error('VALIDATION_ERROR', `${method} is not supported`) };
}

function search(store: Store, body: any): Reply {
  const groups: any[] = body.filterGroups ?? [];
  const matches = (c: SimContact) =>
    groups.length === 0 || groups.some((g) => (g.filters ?? []).every((f: any) => filterMatches(c, f)));
  const all = [...store.contacts.values()].filter(matches);
  const after = Number(body.after ?? 0) || 0;
  const limit = Math.min(Number(body.limit ?? 10) || 10, 200);
  const page = all.slice(after, after + limit);
  const props: string[] = body.properties?.length ? body.properties : DEFAULT_PROPS;
  return {
    status: 200,
    body: { total: all.length, results: page.map((c) => view(c, props)), ...paging(after + limit, all.length) },
  };
}

function filterMatches(c: SimContact, f: any): boolean {
  const v = (c.properties[f.propertyName] ?? '').toLowerCase();
  if (f.operator === 'EQ') return v === String(f.value ?? '').toLowerCase();
  if (f.operator === 'HAS_PROPERTY') return v !== '';
  return false;
}

const tooManyInputs = (): Reply => ({
  status: 400,
  body: error('VALIDATION_ERROR', `The maximum number of inputs supported in a batch request is ${MAX_BATCH}`),
});

/**
 * Batch read by record id or, with `idProperty`, by a unique property (here `email`, matched
 * case-insensitively as HubSpot does). Each contact is returned once, whatever input named it; 200
 * when every input was found, else 207 with one OBJECT_NOT_FOUND error listing the missing ids.
 */
function batchRead(store: Store, body: any): Reply {
  const inputs: any[] = Array.isArray(body.inputs) ? body.inputs : [];
  if (inputs.length > MAX_BATCH) return tooManyInputs();
  const idProperty: string = body.idProperty ?? 'hs_object_id';
  if (idProperty !== 'hs_object_id' && idProperty !== 'email')
    return { status: 400, body: error('VALIDATION_ERROR', `${idProperty} is not a unique identifier property`) };
  const byEmail = idProperty === 'email' ? emailIndex(store) : null;
  const find = (id: string) => (byEmail ? byEmail.get(id.toLowerCase()) : store.contacts.get(id));
  const props: string[] = body.properties?.length ? body.properties : DEFAULT_PROPS;
  const found = new Map<string, SimContact>();
  const missing: string[] = [];
  for (const id of inputs.map((i) => String(i?.id ?? ''))) {
    const c = find(id);
    if (c) found.set(c.id, c);
    else missing.push(id);
  }
  const now = new Date().toISOString();
  const results = [...found.values()].map((c) => view(c, props));
  const out: Record<string, unknown> = { status: 'COMPLETE', results, startedAt: now, completedAt: now };
  if (missing.length === 0) return { status: 200, body: out };
  const notFound = {
    status: 'error',
    category: 'OBJECT_NOT_FOUND',
    message: 'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.',
    context: { ids: missing },
  };
  return { status: 207, body: { ...out, numErrors: 1, errors: [notFound] } };
}

/** Contacts by lower-cased e-mail, first created first (as `store.find`): one pass per request, not per input. */
function emailIndex(store: Store): Map<string, SimContact> {
  const index = new Map<string, SimContact>();
  for (const c of store.ordered()) {
    const email = c.properties.email?.toLowerCase();
    if (email && !index.has(email)) index.set(email, c);
  }
  return index;
}

function batchUpdate(store: Store, body: any): Reply {
  const inputs: any[] = Array.isArray(body.inputs) ? body.inputs : [];
  if (inputs.length > MAX_BATCH) return tooManyInputs();
  const invalid = inputs.map((i) => invalidProperty(i.properties)).find(Boolean);
  if (invalid) return { status: 400, body: invalid };
  const found = inputs.filter((i) => store.contacts.has(String(i.id)));
  const missing = inputs.filter((i) => !store.contacts.has(String(i.id)));
  const results = found.map((i) => view(store.update(String(i.id), i.properties, 'INTEGRATION')!));
  const now = new Date().toISOString();
  const out: Record<string, unknown> = { status: 'COMPLETE', results, startedAt: now, completedAt: now };
  if (missing.length === 0) return { status: 200, body: out };
  const errors = missing.map((i) => ({
    status: 'error',
    category: 'OBJECT_NOT_FOUND',
    message: 'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.',
    context: { ids: [String(i.id)] },
  }));
  return { status: 207, body: { ...out, numErrors: errors.length, errors } };
}

function createOne(store: Store, body: any): Reply {
  const invalid = invalidProperty(body.properties);
  if (invalid) return { status: 400, body: invalid };
  const email = body.properties?.email;
  const dup = email ? store.find(email, 'email') : undefined;
  if (dup) return { status: 409, body: error('CONFLICT', `Contact already exists. Existing ID: ${dup.id}`) };
  return { status: 201, body: view(store.contacts.get(store.create(body.properties ?? {}))!) };
}

function patch(store: Store, c: SimContact, body: any): Reply {
  const invalid = invalidProperty(body.properties);
  if (invalid) return { status: 400, body: invalid };
  return { status: 200, body: view(store.update(c.id, body.properties ?? {}, 'INTEGRATION')!) };
}

function list(store: Store, q: URLSearchParams): Reply {
  const all = store.ordered();
  const after = Number(q.get('after') ?? 0) || 0;
  const limit = Math.min(Number(q.get('limit') ?? 10) || 10, 100);
  return {
    status: 200,
    body: {
      results: all.slice(after, after + limit).map((c) => view(c, requested(q))),
      ...paging(after + limit, all.length),
    },
  };
}

const paging = (next: number, total: number) =>
  next < total ? { paging: { next: { after: String(next), link: `?after=${next}` } } } : {};
// `properties=a,b` or repeated `properties=a&properties=b` (the SDK's form): HubSpot takes both.
const requested = (q: URLSearchParams) =>
  q.get('properties') ? q.getAll('properties').flatMap((p) => p.split(',')) : DEFAULT_PROPS;

/** HubSpot rejects read-only, non-string or unknown-typed property values with VALIDATION_ERROR. */
function invalidProperty(props: unknown): unknown {
  if (props === undefined) return undefined;
  if (typeof props !== 'object' || props === null) return error('VALIDATION_ERROR', 'properties must be an object');
  for (const [k, v] of Object.entries(props)) {
    if (READ_ONLY.has(k))
      return validation(k, `${k} is a read only property; its value cannot be set.`, 'READ_ONLY_VALUE');
    if (v !== null && typeof v !== 'string')
      return validation(k, `Property values must be strings; ${k} is ${typeof v}.`, 'INVALID_OPTION');
  }
  return undefined;
}

function validation(prop: string, message: string, code: string) {
  return {
    ...error('VALIDATION_ERROR', 'Property values were not valid'),
    errors: [{ message, code, in: prop, context: { propertyName: [prop] } }],
  };
}

function error(category: string, message: string) {
  return { status: 'error', message, correlationId: 'c3a1f0e2-sim0-4000-8000-000000000000', category };
}

function retryAfterHeader(seconds: number | null | undefined): Record<string, string> {
  return seconds === null ? {} : { 'retry-after': String(seconds ?? 1) };
}

function rateLimitHeaders(n: number): Record<string, string> {
  return {
    'x-hubspot-ratelimit-max': '190',
    'x-hubspot-ratelimit-remaining': String(Math.max(0, 190 - (n % 190))),
    'x-hubspot-ratelimit-interval-milliseconds': '10000',
  };
}

function view(c: SimContact, props?: string[]) {
  const properties = props ? Object.fromEntries(props.map((p) => [p, c.properties[p] ?? null])) : { ...c.properties };
  return { id: c.id, properties, createdAt: c.createdAt, updatedAt: c.updatedAt, archived: false };
}

interface Store {
  contacts: Map<string, SimContact>;
  writes: Map<string, { at: number; properties: Record<string, string | null> }[]>;
  create(props: Record<string, string>): string;
  remove(id: string): void;
  /** Every contact in creation order, cached between changes (a copy per page made paging O(n²)). */
  ordered(): SimContact[];
  find(key: string, idProperty: string | null): SimContact | undefined;
  update(id: string, props: Record<string, string | null>, source: Source): SimContact | undefined;
}

function createStore(webhook: HubSpotSimOptions['webhook']): Store {
  const contacts = new Map<string, SimContact>();
  const writes: Store['writes'] = new Map();
  const emit = webhookEmitter(webhook);
  let nextId = 501;
  let ordered: SimContact[] | null = null;
  return {
    contacts,
    writes,
    remove(id) {
      contacts.delete(id);
      ordered = null;
    },
    ordered: () => (ordered ??= [...contacts.values()]),
    create(props) {
      ordered = null;
      const id = String(nextId++);
      const now = new Date().toISOString();
      contacts.set(id, {
        id,
        properties: { ...props, hs_object_id: id, createdate: now, lastmodifieddate: now },
        createdAt: now,
        updatedAt: now,
      });
      return id;
    },
    find(key, idProperty) {
      if (!idProperty || idProperty === 'hs_object_id') return contacts.get(key);
      return [...contacts.values()].find((c) => (c.properties[idProperty] ?? '').toLowerCase() === key.toLowerCase());
    },
    update(id, props, source) {
      const c = contacts.get(id);
      if (!c) return undefined;
      const changed = Object.fromEntries(Object.entries(props).filter(([k, v]) => c.properties[k] !== v));
      const now = new Date();
      Object.assign(c.properties, props, { lastmodifieddate: now.toISOString() });
      c.updatedAt = now.toISOString();
      // `at` in fractional ms since the epoch (timeOrigin + now): a bench measures lags of a few ms
      // against it from another process, where Date.now()'s whole milliseconds are a 10% step.
      const at = performance.timeOrigin + performance.now();
      if (source === 'INTEGRATION') writes.set(id, [...(writes.get(id) ?? []), { at, properties: { ...props } }]);
      // HubSpot only notifies about properties whose value actually changed.
      if (Object.keys(changed).length) emit(id, changed, source);
      return c;
    },
  };
}

/** One signed v3 delivery per change, one event per property (as HubSpot sends them). */
function webhookEmitter(webhook: HubSpotSimOptions['webhook']) {
  let eventId = 1000;
  return (id: string, props: Record<string, string | null>, source: Source): void => {
    if (!webhook) return;
    const occurredAt = Date.now();
    const events = Object.entries(props).map(([propertyName, propertyValue]) => ({
      eventId: eventId++,
      subscriptionId: 2345,
      portalId: 62515,
      appId: Number(webhook.app_id),
      occurredAt,
      subscriptionType: 'contact.propertyChange',
      attemptNumber: 0,
      objectId: Number(id),
      propertyName,
      propertyValue: propertyValue ?? '',
      changeSource: source,
      sourceId: source === 'INTEGRATION' ? webhook.app_id : 'userId:777',
    }));
    const body = JSON.stringify(events);
    const ts = String(Date.now());
    const sig = createHmac('sha256', webhook.client_secret).update(`POST${webhook.url}${body}${ts}`).digest('base64');
    void postQuietly(
      webhook.url,
      { 'x-hubspot-signature-v3': sig, 'x-hubspot-request-timestamp': ts, 'user-agent': 'HubSpot Connect 2.0 (sim)' },
      body,
    );
  };
}
