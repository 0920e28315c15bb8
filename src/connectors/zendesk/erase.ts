import type { ConnectorDeps } from '../connector.ts';
import { kindOfStatus, retryAfter, type FetchLike } from '../common/http.ts';
import { eraseEach, type DeleteOutcome, type Eraser } from '../erasure.ts';
import { apiRoot, type ZendeskConfig } from './index.ts';
import { answerOf, lazyZendeskSdk, type ZendeskAnswer } from './sdk.ts';

/** One SDK answer, or a network failure as status 0 with its message. */
type Answer = Pick<ZendeskAnswer, 'status' | 'retryAfter'> & { text: string };

/**
 * Zendesk's two-step user erasure through node-zendesk: `users.delete` (soft delete), then
 * `DELETE /deleted_users/:id` (permanent: Zendesk's GDPR path; the SDK has no call for it, so it
 * goes through the client's `request`). With no crosswalk id, the users with the e-mail (one
 * `/users/search` page, read with its status and `Retry-After`).
 */
export function zendeskEraser(cfg: ZendeskConfig, deps: ConnectorDeps): Eraser {
  const now = deps.now ?? Date.now;
  const sdk = lazyZendeskSdk(
    { endpointUri: apiRoot(cfg), email: cfg.email, api_token: cfg.api_token },
    deps.fetch ?? (fetch as FetchLike),
  );
  const call = async (request: () => Parameters<typeof answerOf>[0]): Promise<Answer & { json: unknown }> => {
    try {
      const a = await answerOf(request());
      return { ...a, text: a.json === null || a.json === undefined ? '' : JSON.stringify(a.json) };
    } catch (err) {
      return { status: 0, retryAfter: null, json: null, text: (err as Error).message };
    }
  };
  const fail = (method: string, path: string, r: Answer) => ({
    ok: false as const,
    kind: r.status ? kindOfStatus(r.status) : ('transient' as const),
    message: `zendesk ${method} ${path}: ${r.status || 'network'} ${r.text.slice(0, 200)}`.trim(),
    ...retryAfter(r.retryAfter, now),
  });
  const ok = (s: number) => s >= 200 && s < 300;
  return eraseEach(
    async (id): Promise<DeleteOutcome> => {
      const soft = await call(async () => (await sdk()).users.delete(encodeURIComponent(id)));
      // Already soft-deleted (404): go on to the permanent delete.
      if (!ok(soft.status) && soft.status !== 404) return fail('DELETE', `/users/${id}.json`, soft);
      const hard = await call(async () =>
        (await sdk()).users.request('DELETE', ['deleted_users', encodeURIComponent(id)]),
      );
      return ok(hard.status) ? { ok: true } : fail('DELETE', `/deleted_users/${id}.json`, hard);
    },
    async (email) => {
      const r = await call(async () =>
        (await sdk()).users.request('GET', ['users', 'search', { query: `email:${email}` }]),
      );
      if (!ok(r.status)) return fail('GET', '/users/search.json', r);
      // The users client hands back the `users` array itself (its JSON API name), not `{ users }`.
      const users = Array.isArray(r.json) ? (r.json as { id?: number | string }[]) : [];
      return { ok: true, ids: users.map((u) => String(u?.id)).filter((x) => x !== 'undefined') };
    },
  );
}
