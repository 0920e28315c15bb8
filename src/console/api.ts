/**
 * The console's only way to the server: typed calls to Hearth's own `/v1` API with the operator's
 * key from session storage (never in a URL, never in local storage). Types come from the client
 * generated from Hearth's OpenAPI document (`npm run gen:client` -> api-types.ts).
 */
import type { components, paths } from './api-types.ts';

export type Schemas = components['schemas'];

type JsonOf<R> = R extends { content: { 'application/json': infer T } } ? T : never;
type Op<P extends keyof paths, M extends 'get' | 'post' | 'put'> = paths[P] extends Record<M, infer O> ? O : never;
type OkOf<O> = O extends { responses: infer R }
  ? R extends { 200: infer A }
    ? JsonOf<A>
    : R extends { 201: infer B }
      ? JsonOf<B>
      : never
  : never;
type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? Q : never;
type BodyOf<O> = O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

/** Paths that answer GET / POST. */
export type GetPath = { [P in keyof paths]: paths[P] extends { get: object } ? P : never }[keyof paths];
export type PostPath = { [P in keyof paths]: paths[P] extends { post: object } ? P : never }[keyof paths];
export type PutPath = { [P in keyof paths]: paths[P] extends { put: object } ? P : never }[keyof paths];
export type GetOk<P extends GetPath> = OkOf<Op<P, 'get'>>;
export type PostOk<P extends PostPath> = OkOf<Op<P, 'post'>>;

const KEY = 'hearth_api_key';

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  set: (key: string): void => sessionStorage.setItem(KEY, key),
  clear: (): void => sessionStorage.removeItem(KEY),
};

/** An answer other than 2xx, with Hearth's error code and message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** The envelope's `details` (e.g. a revert's conflicts on 409), as sent. */
  readonly details: Record<string, unknown>;
  constructor(message: string, status: number, code: string, details: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function url(path: string, params: Record<string, string> = {}, query: object = {}): string {
  const p = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ''));
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${p}?${s}` : p;
}

async function call(method: string, target: string, body?: unknown, key = session.key()): Promise<unknown> {
  const headers: Record<string, string> = { authorization: `Bearer ${key ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(target, init);
  const json = (await res.json().catch(() => ({}))) as {
    error?: { code: string; message: string; details?: Record<string, unknown> };
  };
  if (!res.ok)
    throw new ApiError(
      json.error?.message ?? `HTTP ${res.status}`,
      res.status,
      json.error?.code ?? '',
      json.error?.details ?? {},
    );
  return json;
}

export function get<P extends GetPath>(
  path: P,
  o: { params?: Record<string, string>; query?: QueryOf<Op<P, 'get'>> } = {},
): Promise<GetOk<P>> {
  return call('GET', url(path, o.params, o.query ?? {})) as Promise<GetOk<P>>;
}

export function post<P extends PostPath>(
  path: P,
  o: { params?: Record<string, string>; body?: BodyOf<Op<P, 'post'>> } = {},
): Promise<PostOk<P>> {
  return call('POST', url(path, o.params), o.body) as Promise<PostOk<P>>;
}

export function put<P extends PutPath>(
  path: P,
  o: { params?: Record<string, string>; body?: BodyOf<Op<P, 'put'>> } = {},
): Promise<OkOf<Op<P, 'put'>>> {
  return call('PUT', url(path, o.params), o.body) as Promise<OkOf<Op<P, 'put'>>>;
}

/** Checks a key before keeping it: any authenticated read answers 200. */
export async function checkKey(key: string): Promise<void> {
  await call('GET', url('/v1/households', {}, { limit: 1 }), undefined, key);
}
