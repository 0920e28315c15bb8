import type { IncomingMessage, ServerResponse } from 'node:http';
import { createFaults, delay, type Faults } from './faults.ts';
import { listen, parseJson, readBody, sendJson } from './http.ts';
import { createOAuthSim, tokenParams, type OAuthSim, type OAuthSimOptions } from './oauth.ts';

export type ZohoRecord = Record<string, unknown> & { id: string };

export interface ZohoSim {
  /** The token endpoint, when started with `oauth`. */
  oauth: OAuthSim | null;
  url: string;
  token: string;
  readonly requests: number;
  /** An Account (household when `Account_Type: 'Household'`); lookups are `{ id, name }`. */
  createAccount(fields: Record<string, unknown>): string;
  updateAccount(id: string, fields: Record<string, unknown>): void;
  /** A Contact; `Account_Name` is a lookup `{ id, name }` to its Account. */
  createContact(fields: Record<string, unknown>): string;
  getContact(id: string): ZohoRecord | undefined;
  /** API updates to a contact. */
  writes(id: string): number;
  faults: Faults;
  close(): Promise<void>;
}

const MAX_PAGE = 200;
const MAX_WRITE = 100;

/**
 * A Zoho CRM v2-compatible endpoint over loopback: `Zoho-oauthtoken` auth, Contacts list paged by
 * `page`/`per_page` with `info.more_records`, Accounts by `ids`, and `PUT /crm/v2/Contacts`
 * with per-record results in Zoho's shapes; fault injection (429 as TOO_MANY_REQUESTS).
 */
export async function startZohoSim(
  opts: { port?: number; token?: string; oauth?: OAuthSimOptions } = {},
): Promise<ZohoSim> {
  const token = opts.token ?? '1000.zoho-demo-token';
  const modules = { Contacts: new Map<string, ZohoRecord>(), Accounts: new Map<string, ZohoRecord>() };
  const writes = new Map<string, number>();
  const faults = createFaults();
  const oauth = opts.oauth ? createOAuthSim('/oauth/v2/token', opts.oauth) : null;
  let requests = 0;
  let seq = 5924956000113196000n;
  const nextId = () => String(seq++);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requests++;
    const text = await readBody(req);
    await delay(faults.plan);
    const fault = faults.next();
    if (fault === 'drop') return void req.socket.destroy();
    if (fault === 'rate_limit')
      return sendJson(
        res,
        429,
        { code: 'TOO_MANY_REQUESTS', details: {}, message: 'too many requests', status: 'error' },
        { 'retry-after': String(faults.plan.retry_after_s ?? 1) },
      );
    if (fault === 'server_error')
      return sendJson(res, 500, {
        code: 'INTERNAL_ERROR',
        details: {},
        message: 'Internal Server Error',
        status: 'error',
      });
    const at = new URL(req.url ?? '/', 'http://sim');
    if (oauth?.handle(at.pathname, req.method ?? 'GET', tokenParams(at, text), res)) return;
    const presented = req.headers.authorization?.replace(/^Zoho-oauthtoken /, '');
    if (presented !== token && !oauth?.valid(presented))
      return sendJson(res, 401, {
        code: 'INVALID_TOKEN',
        details: {},
        message: 'invalid oauth token',
        status: 'error',
      });
    const body = parseJson(text);
    if (body === undefined)
      return sendJson(res, 400, { code: 'INVALID_DATA', details: {}, message: 'body is not JSON', status: 'error' });
    const url = new URL(req.url ?? '/', 'http://sim');
    const m = /^\/crm\/v\d+\/(Contacts|Accounts)$/.exec(url.pathname);
    if (!m)
      return sendJson(res, 404, {
        code: 'INVALID_URL_PATTERN',
        details: {},
        message: 'Please check if the URL trying to access is a correct one',
        status: 'error',
      });
    const module = modules[m[1] as keyof typeof modules];
    if (req.method === 'GET') return list(res, module, url.searchParams);
    if (req.method === 'PUT' && m[1] === 'Contacts') return update(res, module, body as { data?: ZohoRecord[] });
    return sendJson(res, 405, { code: 'INVALID_METHOD', details: {}, message: 'method not allowed', status: 'error' });
  }

  function list(res: ServerResponse, module: Map<string, ZohoRecord>, q: URLSearchParams): void {
    const fields = q.get('fields')?.split(',').filter(Boolean);
    if (!fields?.length)
      return sendJson(res, 400, {
        code: 'REQUIRED_PARAM_MISSING',
        details: { param: 'fields' },
        message: 'One of the expected parameter is missing',
        status: 'error',
      });
    const ids = q.get('ids')?.split(',');
    const all = [...module.values()].filter((r) => !ids || ids.includes(r.id));
    const perPage = Math.min(Number(q.get('per_page') ?? MAX_PAGE) || MAX_PAGE, MAX_PAGE);
    const page = Number(q.get('page') ?? 1) || 1;
    const slice = all.slice((page - 1) * perPage, page * perPage);
    // Zoho answers an empty list with 204 and no body.
    if (slice.length === 0) return void res.writeHead(204).end();
    const data = slice.map((r) => ({ id: r.id, ...Object.fromEntries(fields.map((f) => [f, r[f] ?? null])) }));
    sendJson(res, 200, {
      data,
      info: { per_page: perPage, count: data.length, page, more_records: page * perPage < all.length },
    });
  }

  function update(res: ServerResponse, module: Map<string, ZohoRecord>, body: { data?: ZohoRecord[] }): void {
    const data = Array.isArray(body.data) ? body.data : [];
    if (data.length > MAX_WRITE)
      return sendJson(res, 400, {
        code: 'LIMIT_EXCEEDED',
        details: { limit: MAX_WRITE },
        message: 'the number of records exceeds the limit',
        status: 'error',
      });
    const out = data.map((r, i) => {
      const rec = module.get(String(r.id));
      if (!rec)
        return {
          code: 'INVALID_DATA',
          details: { api_name: 'id', json_path: `$.data[${i}].id` },
          message: 'the related id given seems to be invalid',
          status: 'error',
        };
      Object.assign(rec, r, { Modified_Time: new Date().toISOString() });
      writes.set(rec.id, (writes.get(rec.id) ?? 0) + 1);
      return {
        code: 'SUCCESS',
        details: { Modified_Time: rec.Modified_Time, id: rec.id },
        message: 'record updated',
        status: 'success',
      };
    });
    sendJson(res, out.every((o) => o.status === 'success') ? 200 : 207, { data: out });
  }

  const server = await listen(handle, opts.port);
  const create = (module: Map<string, ZohoRecord>, fields: Record<string, unknown>) => {
    const id = nextId();
    module.set(id, { ...fields, id, Modified_Time: new Date().toISOString() });
    return id;
  };
  return {
    oauth,
    url: server.url,
    token,
    get requests() {
      return requests;
    },
    createAccount: (fields) => create(modules.Accounts, fields),
    updateAccount: (id, fields) => void Object.assign(modules.Accounts.get(id)!, fields),
    createContact: (fields) => create(modules.Contacts, fields),
    getContact: (id) => modules.Contacts.get(id),
    writes: (id) => writes.get(id) ?? 0,
    faults,
    close: server.close,
  };
}
