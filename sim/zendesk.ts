import { createHmac, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createFaults, delay, type Faults } from './faults.ts';
import { listen, parseJson, readBody, sendJson } from './http.ts';
import { disorderly } from './stripe.ts';

export interface ZendeskSimUser {
  id: number;
  name: string;
  email: string | null;
  phone: string | null;
  external_id: string | null;
  role: 'end-user';
  user_fields: Record<string, string | number | null>;
  created_at: string;
  updated_at: string;
}

interface SimJob {
  id: string;
  polls: number;
  results: {
    index: number;
    id?: number;
    status: 'Created' | 'Updated' | 'Failed';
    email?: string | null;
    error?: string;
    details?: string;
  }[];
}

export interface ZendeskSim {
  url: string;
  email: string;
  token: string;
  users: Map<number, ZendeskSimUser>;
  byExternalId(externalId: string): ZendeskSimUser | undefined;
  /** Each write `create_or_update_many` applied to a user: when (ms since epoch) and its user fields after it. */
  history(id: number): { at: number; user_fields: Record<string, string | number | null> }[];
  /** `create_or_update_many` calls received (each with its users). */
  batches: number[];
  /** E-mails whose next create_or_update fails (a non-duplicate failure: retried). */
  failNext: Set<string>;
  /** Custom user fields (Admin Center > User fields), in creation order. */
  userFields: ZendeskSimUserField[];
  /** Polls a job stays `queued` before it completes (default 1). */
  jobPolls: number;
  /**
   * An agent edits a user in Zendesk: applied here, returned as the event webhooks Zendesk would
   * send, one per changed attribute (nothing for a value that did not change): `user.name_changed`,
   * `user.identity_created|changed|deleted` (a phone_number or primary e-mail identity),
   * `user.custom_field_changed` per user field. `detail` holds only the user's ids, e-mail,
   * external id, role and times; the change is in `event`.
   */
  agentEdit(
    id: number,
    fields: Partial<Pick<ZendeskSimUser, 'name' | 'email' | 'phone' | 'user_fields'>>,
  ): ZendeskWebhookBody[];
  faults: Faults;
  close(): Promise<void>;
}

export interface ZendeskSimUserField {
  id: number;
  key: string;
  type: string;
  title: string;
  description: string;
  active: boolean;
  position: number;
  created_at: string;
}

const FIELD_TYPES = ['text', 'textarea', 'checkbox', 'date', 'integer', 'decimal', 'regexp', 'dropdown', 'lookup'];

/** The user as a Zendesk user event's `detail` carries it (ids as strings; no external id is ""). */
export interface ZendeskEventDetail {
  created_at: string;
  email: string | null;
  external_id: string;
  default_group_id: string;
  id: string;
  organization_id: string;
  role: string;
  updated_at: string;
}

export interface ZendeskIdentityValue {
  id: number;
  type: 'email' | 'phone_number';
  value: string;
  primary: boolean;
}

/**
 * A Zendesk event webhook body (`zen:event-type:user.*`), as in Zendesk's webhook event-types
 * reference: what changed is in `event` (`{current, previous}`, plus `field` for a user field).
 */
export interface ZendeskWebhookBody {
  type: string;
  account_id: number;
  id: string;
  time: string;
  zendesk_event_version: string;
  subject: string;
  detail: ZendeskEventDetail;
  event: Record<string, unknown>;
}

/** Posts a signed Zendesk webhook (base64 HMAC-SHA256 of timestamp + body). */
export function sendZendeskWebhook(url: string, secret: string, body: unknown, timestamp?: string): Promise<Response> {
  const raw = JSON.stringify(body);
  const ts = timestamp ?? new Date().toISOString();
  const signature = createHmac('sha256', secret).update(ts).update(raw).digest('base64');
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-zendesk-webhook-signature': signature,
      'x-zendesk-webhook-signature-timestamp': ts,
    },
    body: raw,
  });
}

/** Delivers webhooks out of order and some twice (seeded), one at a time; the statuses in send order. */
export async function sendZendeskWebhooksDisorderly(
  url: string,
  secret: string,
  bodies: readonly ZendeskWebhookBody[],
  o: { seed?: number; duplicates?: number } = {},
): Promise<{ sent: ZendeskWebhookBody[]; statuses: number[] }> {
  const sent = disorderly(bodies, o);
  const statuses: number[] = [];
  for (const b of sent) statuses.push((await sendZendeskWebhook(url, secret, b)).status);
  return { sent, statuses };
}

const RATE = 700;
const ACCOUNT_ID = 12514403;

/** A stable identity id per user and identity type (the simulator keeps no identities of its own). */
const identityId = (userId: number, type: 'email' | 'phone_number') => userId * 10 + (type === 'email' ? 1 : 2);
const path = (req: IncomingMessage) => new URL(req.url ?? '/', 'http://sim');

/**
 * A Zendesk Support Users API subset over loopback: Basic `{email}/token:{token}` auth; paths with
 * or without `.json`; `create_or_update_many` (≤100, matched by external_id then e-mail, a
 * duplicate e-mail fails that user with DuplicateValue) answered by a job status that completes
 * after `jobPolls` polls; users list (cursor pages), show; `X-Rate-Limit` headers on every answer
 * and `Retry-After` only on 429s; faults: 429, 5xx, dropped sockets.
 */
export async function startZendeskSim(
  opts: { port?: number; email?: string; token?: string; userFields?: string[] } = {},
): Promise<ZendeskSim> {
  const email = opts.email ?? 'hearth@example.com';
  const token = opts.token ?? 'zd-token';
  const users = new Map<number, ZendeskSimUser>();
  /** Soft-deleted users awaiting the permanent delete (`/deleted_users/:id`). */
  const softDeleted = new Set<number>();
  const jobs = new Map<string, SimJob>();
  const faults = createFaults();
  const batches: number[] = [];
  const failNext = new Set<string>();
  const writes = new Map<number, { at: number; user_fields: Record<string, string | number | null> }[]>();
  let nextId = 9000;
  let remaining = RATE;
  const sim = { jobPolls: 1 };
  const userFields: ZendeskSimUserField[] = [];
  let base = '';

  function addField(input: Partial<ZendeskSimUserField>): ZendeskSimUserField {
    const f: ZendeskSimUserField = {
      id: 360_000 + userFields.length + 1,
      key: input.key!,
      type: input.type!,
      title: input.title ?? input.key!,
      description: input.description ?? '',
      active: true,
      position: userFields.length,
      created_at: new Date().toISOString(),
    };
    userFields.push(f);
    return f;
  }
  for (const key of opts.userFields ?? []) addField({ key, type: 'text' });

  /** `GET /user_fields` (offset pages, `per_page` ≤ 100, absolute `next_page`) and `POST /user_fields`. */
  function fieldsRoute(req: IncomingMessage, body: any): { status: number; body: unknown } {
    if (req.method === 'GET') {
      const q = path(req).searchParams;
      const size = Math.min(100, Number(q.get('per_page') ?? 100));
      const page = Number(q.get('page') ?? 1);
      const list = userFields.slice((page - 1) * size, page * size);
      const more = page * size < userFields.length;
      return {
        status: 200,
        body: {
          user_fields: list,
          next_page: more ? `${base}/api/v2/user_fields.json?page=${page + 1}&per_page=${size}` : null,
          previous_page: null,
          count: userFields.length,
        },
      };
    }
    const f = body?.user_field as Partial<ZendeskSimUserField> | undefined;
    const invalid = (field: string, description: string) => ({
      status: 422,
      body: {
        error: 'RecordInvalid',
        description: 'Record validation errors',
        details: { [field]: [{ description, error: 'InvalidValue' }] },
      },
    });
    if (!f?.key || !/^[A-Za-z0-9_]+$/.test(f.key)) return invalid('key', 'Key: is invalid');
    if (!f.type || !FIELD_TYPES.includes(f.type)) return invalid('type', 'Type: is invalid');
    if (!f.title) return invalid('title', "Title: can't be blank");
    if (userFields.some((x) => x.key === f.key)) return invalid('key', 'Key: has already been taken');
    return { status: 201, body: { user_field: addField(f) } };
  }

  const find = (pred: (u: ZendeskSimUser) => boolean) => [...users.values()].find(pred);

  function upsert(input: Partial<ZendeskSimUser>, index: number): SimJob['results'][number] {
    const mail = input.email ?? null;
    if (mail && failNext.delete(mail))
      return { index, status: 'Failed', email: mail, error: 'InternalError', details: 'try again' };
    const existing =
      (input.external_id ? find((u) => u.external_id === input.external_id) : undefined) ??
      (mail ? find((u) => u.email === mail) : undefined);
    const clash = mail ? find((u) => u.email === mail && u !== existing) : undefined;
    if (clash)
      return {
        index,
        status: 'Failed',
        email: mail,
        error: 'DuplicateValue',
        details: `Email: ${mail} is already being used by another user`,
      };
    const at = Date.now();
    const now = new Date(at).toISOString();
    const user: ZendeskSimUser = existing ?? {
      id: nextId++,
      name: '',
      email: null,
      phone: null,
      external_id: null,
      role: 'end-user',
      user_fields: {},
      created_at: now,
      updated_at: now,
    };
    const { user_fields, ...rest } = input;
    Object.assign(user, rest, { updated_at: now });
    user.user_fields = { ...user.user_fields, ...(user_fields ?? {}) };
    users.set(user.id, user);
    writes.set(user.id, [...(writes.get(user.id) ?? []), { at, user_fields: { ...user.user_fields } }]);
    return { index, id: user.id, status: existing ? 'Updated' : 'Created', email: user.email };
  }

  function route(req: IncomingMessage, body: any): { status: number; body: unknown } {
    const p = path(req).pathname.replace(/\.json$/, '');
    if (req.method === 'POST' && p === '/api/v2/users/create_or_update_many') {
      const list = (body?.users ?? []) as Partial<ZendeskSimUser>[];
      if (list.length > 100) return { status: 400, body: { error: 'TooManyValues', description: 'at most 100 users' } };
      batches.push(list.length);
      const job: SimJob = { id: `V3-${jobs.size + 1}`, polls: 0, results: list.map(upsert) };
      jobs.set(job.id, job);
      return {
        status: 200,
        body: { job_status: { id: job.id, status: 'queued', url: `/api/v2/job_statuses/${job.id}.json` } },
      };
    }
    if ((req.method === 'GET' || req.method === 'POST') && p === '/api/v2/user_fields') return fieldsRoute(req, body);
    const j = /^\/api\/v2\/job_statuses\/([^/]+)$/.exec(p);
    if (req.method === 'GET' && j) {
      const job = jobs.get(j[1]!);
      if (!job) return { status: 404, body: { error: 'RecordNotFound', description: 'Not found' } };
      const done = ++job.polls > sim.jobPolls;
      return {
        status: 200,
        body: {
          job_status: { id: job.id, status: done ? 'completed' : 'working', ...(done ? { results: job.results } : {}) },
        },
      };
    }
    if (req.method === 'GET' && p === '/api/v2/users') {
      const q = path(req).searchParams;
      const size = Number(q.get('page[size]') ?? 100);
      const all = [...users.values()];
      const from = Number(q.get('page[after]') ?? 0);
      const page = all.slice(from, from + size);
      const more = from + size < all.length;
      return {
        status: 200,
        body: { users: page, meta: { has_more: more, after_cursor: more ? String(from + size) : null } },
      };
    }
    if (req.method === 'GET' && p === '/api/v2/users/search') {
      // `query=email:x` (or a bare e-mail) and `external_id=`: the subset Hearth uses.
      const q = path(req).searchParams;
      const ext = q.get('external_id');
      const mail = (q.get('query') ?? '')
        .replace(/^email:/, '')
        .trim()
        .toLowerCase();
      const found = [...users.values()].filter((x) =>
        ext ? x.external_id === ext : mail ? x.email?.toLowerCase() === mail : false,
      );
      return { status: 200, body: { users: found, count: found.length, next_page: null, previous_page: null } };
    }
    const u = /^\/api\/v2\/users\/(\d+)$/.exec(p);
    const gone = /^\/api\/v2\/deleted_users\/(\d+)$/.exec(p);
    if (req.method === 'DELETE' && (u || gone)) {
      const reject = faults.plan.reject_delete;
      if (reject) return { status: reject.status, body: { error: 'Forbidden', description: reject.message } };
      const id = Number((u ?? gone)![1]);
      if (u) {
        const user = users.get(id);
        if (!user) return { status: 404, body: { error: 'RecordNotFound', description: 'Not found' } };
        users.delete(id);
        softDeleted.add(id);
        return { status: 200, body: { user: { ...user, active: false } } };
      }
      if (!softDeleted.delete(id)) return { status: 404, body: { error: 'RecordNotFound', description: 'Not found' } };
      return { status: 204, body: null };
    }
    if (req.method === 'GET' && u) {
      const user = users.get(Number(u[1]));
      return user
        ? { status: 200, body: { user } }
        : { status: 404, body: { error: 'RecordNotFound', description: 'Not found' } };
    }
    return { status: 404, body: { error: 'InvalidEndpoint', description: 'Not found' } };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    await delay(faults.plan);
    const fault = faults.next();
    if (fault === 'drop') return void req.socket.destroy();
    const limits = { 'x-rate-limit': String(RATE), 'x-rate-limit-remaining': String(Math.max(0, --remaining)) };
    if (fault === 'rate_limit')
      return sendJson(
        res,
        429,
        { error: 'TooManyRequests' },
        { ...limits, 'retry-after': String(faults.plan.retry_after_s ?? 1) },
      );
    if (fault === 'server_error') return sendJson(res, 503, { error: 'ServiceUnavailable' }, limits);
    const want = `Basic ${Buffer.from(`${email}/token:${token}`).toString('base64')}`;
    if (req.headers.authorization !== want) return sendJson(res, 401, { error: "Couldn't authenticate you" }, limits);
    const body = parseJson(text);
    if (body === undefined) return sendJson(res, 400, { error: 'InvalidJSON' }, limits);
    const out = route(req, body);
    sendJson(res, out.status, out.body, limits);
  }

  const server = await listen(handle, opts.port);
  base = server.url;
  return {
    url: server.url,
    email,
    token,
    users,
    userFields,
    byExternalId: (id) => find((u) => u.external_id === id),
    history: (id) => writes.get(id) ?? [],
    batches,
    failNext,
    get jobPolls() {
      return sim.jobPolls;
    },
    set jobPolls(n: number) {
      sim.jobPolls = n;
    },
    agentEdit(id, fields) {
      const user = users.get(id);
      if (!user) throw new Error(`no zendesk user ${id}`);
      const before = { ...user, user_fields: { ...user.user_fields } };
      const { user_fields, ...rest } = fields;
      Object.assign(user, rest);
      if (user_fields) user.user_fields = { ...user.user_fields, ...user_fields };
      const changes: { type: string; event: Record<string, unknown> }[] = [];
      if (fields.name !== undefined && fields.name !== before.name)
        changes.push({ type: 'name_changed', event: { current: user.name, previous: before.name } });
      for (const [key, type] of [
        ['email', 'email'],
        ['phone', 'phone_number'],
      ] as const) {
        if (fields[key] === undefined || fields[key] === before[key]) continue;
        const identity = (value: string | null): ZendeskIdentityValue | null =>
          value === null ? null : { id: identityId(user.id, type), type, value, primary: true };
        const change =
          before[key] === null ? 'identity_created' : user[key] === null ? 'identity_deleted' : 'identity_changed';
        changes.push({ type: change, event: { current: identity(user[key]), previous: identity(before[key]) } });
      }
      for (const [key, value] of Object.entries(user_fields ?? {})) {
        if (before.user_fields[key] === value) continue;
        const f = userFields.find((x) => x.key === key);
        const field = { id: f?.id ?? 0, title: f?.title ?? key, type: f?.type ?? 'text', key };
        changes.push({
          type: 'custom_field_changed',
          event: { current: value, previous: before.user_fields[key] ?? null, field },
        });
      }
      if (changes.length) user.updated_at = new Date().toISOString();
      const detail: ZendeskEventDetail = {
        created_at: user.created_at,
        email: user.email,
        external_id: user.external_id ?? '',
        default_group_id: '0',
        id: String(user.id),
        organization_id: '0',
        role: user.role,
        updated_at: user.updated_at,
      };
      return changes.map((c) => ({
        type: `zen:event-type:user.${c.type}`,
        account_id: ACCOUNT_ID,
        id: randomUUID(),
        time: user.updated_at.replace(/\.\d{3}Z$/, 'Z'),
        zendesk_event_version: '2022-06-20',
        subject: `zen:user:${user.id}`,
        detail,
        event: c.event,
      }));
    },
    faults,
    close: server.close,
  };
}
