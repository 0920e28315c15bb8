import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createFaults, delay, type FaultState, type Faults } from './faults.ts';
import { listen, parseJson, readBody, sendJson } from './http.ts';

/**
 * Identity-provider simulators over loopback, for tests and `hearth demo`: a SCIM 2.0 service
 * provider, the Auth0 Management API (with `/oauth/token`) and the Keycloak admin REST API. Each
 * keeps users in memory, speaks the vendor's error shapes and injects faults (429 with
 * Retry-After, 5xx, dropped connections) through `faults`.
 */

type Reply = { status: number; body?: unknown; headers?: Record<string, string> };
type Handler = (req: IncomingMessage, url: URL, body: unknown) => Reply;

interface SimServer {
  url: string;
  faults: Faults;
  /** Requests received, oldest first (including faulted ones). */
  readonly requests: { method: string; path: string }[];
  close(): Promise<void>;
}

/** Shared request loop: record, delay, inject faults in the vendor's shape, then route. */
async function serve(
  faultReply: (fault: 'rate_limit' | 'server_error', faults: FaultState) => Reply,
  route: Handler,
  port?: number,
): Promise<SimServer> {
  const faults = createFaults();
  const requests: { method: string; path: string }[] = [];
  const server = await listen(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    requests.push({ method: req.method ?? 'GET', path: url.pathname });
    const text = await readBody(req);
    await delay(faults.plan);
    const fault = faults.next();
    if (fault === 'drop') return void req.socket.destroy();
    const contentType = req.headers['content-type'] ?? '';
    const body = contentType.includes('x-www-form-urlencoded')
      ? Object.fromEntries(new URLSearchParams(text))
      : parseJson(text);
    const reply = fault ? faultReply(fault, faults) : route(req, url, body);
    sendJson(res, reply.status, reply.body ?? null, reply.headers ?? {});
  }, port);
  return { url: server.url, faults, requests, close: server.close };
}

function retryAfter(faults: FaultState): Record<string, string> {
  const s = faults.plan.retry_after_s;
  return s === null ? {} : { 'retry-after': String(s ?? 1) };
}

const bearer = (req: IncomingMessage): string | null =>
  /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? null;

// ---------------------------------------------------------------------------------------------
// SCIM 2.0 (RFC 7643 / 7644)

const SCIM_CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const SCIM_LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const SCIM_PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SCIM_ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const SCIM_HEARTH = 'urn:ietf:params:scim:schemas:extension:hearth:2.0:User';

export type ScimUser = Record<string, unknown> & {
  id: string;
  userName: string;
  schemas: string[];
  emails?: { value: string; primary?: boolean }[];
};

export interface ScimSim extends SimServer {
  token: string;
  addUser(userName: string, extra?: Record<string, unknown>): string;
  getUser(id: string): ScimUser | undefined;
  deleteUser(id: string): void;
  /** PATCH requests received, with their bodies. */
  readonly patches: { id: string; body: unknown }[];
}

export async function startScimSim(
  opts: { token?: string; port?: number; extensions?: string[] } = {},
): Promise<ScimSim> {
  const token = opts.token ?? 'scim-demo-token';
  const extensions = new Set([SCIM_ENTERPRISE, SCIM_HEARTH, ...(opts.extensions ?? [])]);
  const users = new Map<string, ScimUser>();
  const patches: { id: string; body: unknown }[] = [];
  const err = (status: number, detail: string, scimType?: string): Reply => ({
    status,
    body: { schemas: [SCIM_ERROR], status: String(status), ...(scimType ? { scimType } : {}), detail },
  });
  const route: Handler = (req, url, body) => {
    if (bearer(req) !== token)
      return err(401, 'Authorization failure. The authorization header is invalid or missing.');
    const m = /^\/scim\/v2\/Users(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return err(404, `no endpoint ${url.pathname}`);
    if (!m[1]) return req.method === 'GET' ? scimList(users, url, err) : err(405, 'method not supported');
    const user = users.get(decodeURIComponent(m[1]));
    if (!user) return err(404, `Resource ${m[1]} not found`);
    if (req.method === 'GET') return { status: 200, body: user };
    if (req.method === 'DELETE') return (users.delete(user.id), { status: 204 });
    if (req.method !== 'PATCH') return err(405, 'method not supported');
    if (body === undefined) return err(400, 'body is not JSON', 'invalidSyntax');
    patches.push({ id: user.id, body });
    const next = scimApplyPatch(user, body, extensions);
    if (!next.ok) return next.reply;
    users.set(user.id, next.user);
    return { status: 200, body: next.user };
  };
  const server = await serve(
    (fault, faults) =>
      fault === 'rate_limit'
        ? { ...err(429, 'Too many requests'), headers: retryAfter(faults) }
        : err(503, 'Service temporarily unavailable'),
    route,
    opts.port,
  );
  return {
    ...server,
    url: `${server.url}/scim/v2`,
    token,
    patches,
    addUser: (userName, extra = {}) => {
      const id = randomUUID();
      users.set(id, {
        schemas: [SCIM_CORE],
        id,
        userName,
        emails: [{ value: userName, primary: true }],
        active: true,
        ...extra,
        meta: { resourceType: 'User', created: new Date().toISOString() },
      });
      return id;
    },
    getUser: (id) => users.get(id),
    deleteUser: (id) => void users.delete(id),
  };
}

function scimList(users: Map<string, ScimUser>, url: URL, err: (s: number, d: string, t?: string) => Reply): Reply {
  const filter = url.searchParams.get('filter');
  let all = [...users.values()];
  if (filter) {
    // The filters a client typically sends to find one user: `<attr> eq "<value>"`.
    const f = /^\s*(userName|emails\.value|emails\[value|externalId)\s+eq\s+("(?:[^"\\]|\\.)*")\s*\]?\s*$/i.exec(
      filter,
    );
    if (!f) return err(400, `unsupported filter: ${filter}`, 'invalidFilter');
    const want = (JSON.parse(f[2]!) as string).toLowerCase();
    const attr = f[1]!.toLowerCase();
    all = all.filter((u) =>
      attr === 'username'
        ? u.userName.toLowerCase() === want
        : attr === 'externalid'
          ? String(u.externalId ?? '') === f[2]
          : (u.emails ?? []).some((e) => e.value.toLowerCase() === want),
    );
  }
  const count = Math.min(Number(url.searchParams.get('count') ?? 100) || 100, 100);
  const page = all.slice(0, count);
  return {
    status: 200,
    body: { schemas: [SCIM_LIST], totalResults: all.length, startIndex: 1, itemsPerPage: page.length, Resources: page },
  };
}

/** Applies a PatchOp atomically to a copy: any bad operation -> an error and nothing applied. */
function scimApplyPatch(
  user: ScimUser,
  body: unknown,
  extensions: Set<string>,
): { ok: true; user: ScimUser } | { ok: false; reply: Reply } {
  const bad = (detail: string, scimType: string) => ({
    ok: false as const,
    reply: { status: 400, body: { schemas: [SCIM_ERROR], status: '400', scimType, detail } },
  });
  const b = body as { schemas?: unknown; Operations?: unknown };
  if (!Array.isArray(b?.schemas) || !b.schemas.includes(SCIM_PATCH))
    return bad('schemas must include the PatchOp URN', 'invalidSyntax');
  if (!Array.isArray(b.Operations) || b.Operations.length === 0)
    return bad('Operations must be a non-empty array', 'invalidSyntax');
  const next = structuredClone(user);
  for (const raw of b.Operations as { op?: unknown; path?: unknown; value?: unknown }[]) {
    const op = String(raw.op ?? '').toLowerCase();
    if (!['add', 'replace', 'remove'].includes(op)) return bad(`unknown op ${String(raw.op)}`, 'invalidSyntax');
    if (typeof raw.path !== 'string') {
      if (op === 'remove') return bad('remove needs a path', 'noTarget');
      if (typeof raw.value !== 'object' || raw.value === null)
        return bad('value must be an object when there is no path', 'invalidValue');
      Object.assign(next, raw.value);
      continue;
    }
    const colon = raw.path.lastIndexOf(':');
    const [urn, attr] = raw.path.startsWith('urn:')
      ? [raw.path.slice(0, colon), raw.path.slice(colon + 1)]
      : [null, raw.path];
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(attr)) return bad(`unsupported path ${raw.path}`, 'invalidPath');
    if (urn !== null && urn !== SCIM_CORE && !extensions.has(urn)) return bad(`unknown schema ${urn}`, 'invalidPath');
    const target =
      urn === null || urn === SCIM_CORE
        ? (next as Record<string, unknown>)
        : ((next[urn] ??= {}) as Record<string, unknown>);
    if (op === 'remove') delete target[attr];
    else if (raw.value === undefined) return bad(`${op} needs a value`, 'invalidValue');
    else target[attr] = raw.value;
    if (urn && urn !== SCIM_CORE) {
      const empty = Object.keys(target).length === 0;
      if (empty) delete next[urn];
      next.schemas = empty ? next.schemas.filter((s) => s !== urn) : [...new Set([...next.schemas, urn])];
    }
  }
  return { ok: true, user: next };
}

// ---------------------------------------------------------------------------------------------
// Auth0 Management API

export interface Auth0User {
  user_id: string;
  email: string;
  email_verified: boolean;
  app_metadata: Record<string, unknown>;
  user_metadata: Record<string, unknown>;
  identities: { connection: string; provider: string; user_id: string }[];
}

export interface Auth0Sim extends SimServer {
  client_id: string;
  client_secret: string;
  /** Tokens issued by /oauth/token. */
  readonly tokensIssued: number;
  addUser(
    email: string,
    connection?: 'Username-Password-Authentication' | 'google-oauth2',
    email_verified?: boolean,
  ): string;
  getUser(id: string): Auth0User | undefined;
  deleteUser(id: string): void;
  /** Every issued token stops working (rotation): the next API call gets 401. */
  revokeTokens(): void;
}

export async function startAuth0Sim(
  opts: { port?: number; client_id?: string; client_secret?: string } = {},
): Promise<Auth0Sim> {
  const client_id = opts.client_id ?? 'hearth-m2m';
  const client_secret = opts.client_secret ?? 'auth0-demo-secret';
  const users = new Map<string, Auth0User>();
  const tokens = new Set<string>();
  let base = '';
  let issued = 0;
  const apiErr = (statusCode: number, error: string, message: string, errorCode?: string): Reply => ({
    status: statusCode,
    body: { statusCode, error, message, ...(errorCode ? { errorCode } : {}) },
  });
  const route: Handler = (req, url, body) => {
    if (req.method === 'POST' && url.pathname === '/oauth/token') {
      const b = (body ?? {}) as Record<string, string>;
      if (b.grant_type !== 'client_credentials')
        return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Unsupported grant type' } };
      if (b.client_id !== client_id || b.client_secret !== client_secret)
        return { status: 401, body: { error: 'access_denied', error_description: 'Unauthorized' } };
      if (b.audience !== `${base}/api/v2/`)
        return { status: 403, body: { error: 'access_denied', error_description: `Service not found: ${b.audience}` } };
      const token = `eyJ.${randomBytes(12).toString('base64url')}`;
      tokens.add(token);
      issued++;
      return {
        status: 200,
        body: {
          access_token: token,
          token_type: 'Bearer',
          expires_in: 86400,
          scope: 'read:users update:users_app_metadata',
        },
      };
    }
    if (!url.pathname.startsWith('/api/v2/')) return apiErr(404, 'Not Found', 'Not Found');
    const t = bearer(req);
    if (!t || !tokens.has(t)) return apiErr(401, 'Unauthorized', 'Invalid token');
    if (req.method === 'GET' && url.pathname === '/api/v2/users-by-email') {
      const email = url.searchParams.get('email');
      if (!email)
        return apiErr(
          400,
          'Bad Request',
          "Query validation error: 'Missing required property: email'.",
          'invalid_query_string',
        );
      return { status: 200, body: [...users.values()].filter((u) => u.email === email.toLowerCase()) };
    }
    const m = /^\/api\/v2\/users\/([^/]+)$/.exec(url.pathname);
    if (!m) return apiErr(404, 'Not Found', 'Not Found');
    const user = users.get(decodeURIComponent(m[1]!));
    if (!user) return apiErr(404, 'Not Found', 'The user does not exist.', 'inexistent_user');
    if (req.method === 'GET') return { status: 200, body: user };
    if (req.method === 'DELETE') return (users.delete(user.user_id), { status: 204 });
    if (req.method !== 'PATCH') return apiErr(405, 'Method Not Allowed', 'Method Not Allowed');
    const b = body as { app_metadata?: unknown; user_metadata?: unknown } | undefined;
    if (!b || typeof b !== 'object')
      return apiErr(400, 'Bad Request', "Payload validation error: 'Invalid JSON'.", 'invalid_body');
    for (const key of ['app_metadata', 'user_metadata'] as const) {
      const patch = b[key];
      if (patch === undefined) continue;
      if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
        return apiErr(
          400,
          'Bad Request',
          `Payload validation error: 'Expected type object but found type ${typeof patch}' on property ${key}.`,
          'invalid_body',
        );
      user[key] = mergeMetadata(user[key], patch as Record<string, unknown>);
    }
    return { status: 200, body: user };
  };
  // Auth0 answers 429 with X-RateLimit-* headers (reset = epoch seconds).
  const server = await serve(
    (fault, faults) => {
      if (fault === 'server_error') return apiErr(503, 'Service Unavailable', 'The service is temporarily unavailable');
      const s = faults.plan.retry_after_s;
      const headers =
        s === null
          ? {}
          : {
              'x-ratelimit-limit': '50',
              'x-ratelimit-remaining': '0',
              'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + (s ?? 1)),
              ...retryAfter(faults),
            };
      return { ...apiErr(429, 'Too Many Requests', 'Global limit has been reached', 'too_many_requests'), headers };
    },
    route,
    opts.port,
  );
  base = server.url;
  return {
    ...server,
    client_id,
    client_secret,
    get tokensIssued() {
      return issued;
    },
    addUser: (email, connection = 'Username-Password-Authentication', email_verified = true) => {
      const provider = connection === 'google-oauth2' ? 'google-oauth2' : 'auth0';
      const raw = randomBytes(12).toString('hex');
      const user_id = `${provider}|${raw}`;
      users.set(user_id, {
        user_id,
        email: email.toLowerCase(),
        email_verified,
        app_metadata: {},
        user_metadata: {},
        identities: [{ connection, provider, user_id: raw }],
      });
      return user_id;
    },
    getUser: (id) => users.get(id),
    deleteUser: (id) => void users.delete(id),
    revokeTokens: () => tokens.clear(),
  };
}

/** Auth0's metadata merge: top-level keys merge, nested objects replace, null deletes, {} clears. */
function mergeMetadata(current: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  if (Object.keys(patch).length === 0) return {};
  const next = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete next[k];
    else next[k] = v;
  }
  return next;
}

// ---------------------------------------------------------------------------------------------
// Keycloak admin REST API

export interface KeycloakUser {
  id: string;
  username: string;
  email?: string | undefined;
  firstName?: string | undefined;
  lastName?: string | undefined;
  enabled: boolean;
  emailVerified: boolean;
  attributes: Record<string, string[]>;
}

export interface KeycloakSim extends SimServer {
  realm: string;
  client_id: string;
  client_secret: string;
  readonly tokensIssued: number;
  addUser(email: string, names?: { firstName?: string; lastName?: string }, emailVerified?: boolean): string;
  getUser(id: string): KeycloakUser | undefined;
  deleteUser(id: string): void;
  /**
   * The realm's user profile: `ENABLED` keeps any attribute; `DISABLED` (Keycloak's default)
   * silently drops attributes not in `declared` while still answering 204.
   */
  setUnmanagedAttributePolicy(policy: 'ENABLED' | 'DISABLED', declared?: string[]): void;
}

export async function startKeycloakSim(
  opts: { port?: number; realm?: string; client_id?: string; client_secret?: string } = {},
): Promise<KeycloakSim> {
  const realm = opts.realm ?? 'shop';
  const client_id = opts.client_id ?? 'hearth';
  const client_secret = opts.client_secret ?? 'keycloak-demo-secret';
  const users = new Map<string, KeycloakUser>();
  const tokens = new Set<string>();
  let issued = 0;
  let policy: { mode: 'ENABLED' | 'DISABLED'; declared: Set<string> } = { mode: 'ENABLED', declared: new Set() };
  const adminBase = `/admin/realms/${realm}/users`;
  const route: Handler = (req, url, body) => {
    if (req.method === 'POST' && url.pathname === `/realms/${realm}/protocol/openid-connect/token`) {
      const b = (body ?? {}) as Record<string, string>;
      if (b.grant_type !== 'client_credentials')
        return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Unsupported grant_type' } };
      if (b.client_id !== client_id || b.client_secret !== client_secret)
        return {
          status: 401,
          body: { error: 'unauthorized_client', error_description: 'Invalid client or Invalid client credentials' },
        };
      const token = `kc.${randomBytes(12).toString('base64url')}`;
      tokens.add(token);
      issued++;
      return {
        status: 200,
        body: {
          access_token: token,
          expires_in: 300,
          refresh_expires_in: 0,
          token_type: 'Bearer',
          'not-before-policy': 0,
          scope: 'profile email',
        },
      };
    }
    if (!url.pathname.startsWith('/admin/realms/'))
      return { status: 404, body: { error: 'Unable to find matching target resource method' } };
    const t = bearer(req);
    if (!t || !tokens.has(t)) return { status: 401, body: { error: 'HTTP 401 Unauthorized' } };
    if (!url.pathname.startsWith(adminBase)) return { status: 404, body: { error: 'Realm not found.' } };
    if (req.method === 'GET' && url.pathname === adminBase) {
      const email = url.searchParams.get('email')?.toLowerCase();
      const exact = url.searchParams.get('exact') === 'true';
      const list = [...users.values()].filter(
        (u) => !email || (exact ? u.email === email : (u.email ?? '').includes(email)),
      );
      return { status: 200, body: list };
    }
    const m = new RegExp(`^${adminBase}/([^/]+)$`).exec(url.pathname);
    const user = m ? users.get(decodeURIComponent(m[1]!)) : undefined;
    if (!user) return { status: 404, body: { error: 'User not found' } };
    if (req.method === 'GET') return { status: 200, body: user };
    if (req.method === 'DELETE') return (users.delete(user.id), { status: 204 });
    if (req.method !== 'PUT') return { status: 405, body: { error: 'HTTP 405 Method Not Allowed' } };
    const rep = body as Partial<KeycloakUser> | undefined;
    if (!rep || typeof rep !== 'object')
      return { status: 400, body: { errorMessage: 'unable to read contents from stream' } };
    // Keycloak 24+: a PUT through the user profile takes the representation as the new state, so
    // profile fields missing from it are cleared; `attributes`, when present, replaces the map.
    users.set(user.id, {
      ...user,
      email: rep.email?.toLowerCase(),
      firstName: rep.firstName,
      lastName: rep.lastName,
      enabled: rep.enabled ?? user.enabled,
      emailVerified: rep.emailVerified ?? user.emailVerified,
      attributes: rep.attributes ? keepManaged(rep.attributes, policy) : user.attributes,
    });
    return { status: 204 };
  };
  const server = await serve(
    (fault, faults) =>
      fault === 'rate_limit'
        ? { status: 429, body: { error: 'Too Many Requests' }, headers: retryAfter(faults) }
        : { status: 503, body: { error: 'Service Unavailable' } },
    route,
    opts.port,
  );
  return {
    ...server,
    realm,
    client_id,
    client_secret,
    get tokensIssued() {
      return issued;
    },
    addUser: (email, names = {}, emailVerified = true) => {
      const id = randomUUID();
      users.set(id, {
        id,
        username: email.toLowerCase(),
        email: email.toLowerCase(),
        ...names,
        enabled: true,
        emailVerified,
        attributes: {},
      });
      return id;
    },
    getUser: (id) => users.get(id),
    deleteUser: (id) => void users.delete(id),
    setUnmanagedAttributePolicy: (mode, declared = []) => {
      policy = { mode, declared: new Set(declared) };
    },
  };
}

function keepManaged(
  attrs: Record<string, string[]>,
  policy: { mode: 'ENABLED' | 'DISABLED'; declared: Set<string> },
): Record<string, string[]> {
  if (policy.mode === 'ENABLED') return { ...attrs };
  return Object.fromEntries(Object.entries(attrs).filter(([k]) => policy.declared.has(k)));
}
