import type { ConnectorDeps } from '../connector.ts';
import { kindOfStatus, retryAfter, type FetchLike } from '../common/http.ts';
import { eraseEach, type DeleteOutcome, type Eraser } from '../erasure.ts';
import { apiRoot, type ZendeskConfig } from './index.ts';

/**
 * Zendesk's two-step user erasure: `DELETE /users/:id` (soft delete), then
 * `DELETE /deleted_users/:id` (permanent: Zendesk's GDPR path). With no crosswalk id, the users
 * with the e-mail (`/users/search?query=`).
 */
export function zendeskEraser(cfg: ZendeskConfig, deps: ConnectorDeps): Eraser {
  const now = deps.now ?? Date.now;
  const send = deps.fetch ?? (fetch as FetchLike);
  const auth = `Basic ${Buffer.from(`${cfg.email}/token:${cfg.api_token}`).toString('base64')}`;
  const call = async (method: string, path: string) => {
    try {
      const res = await send(`${apiRoot(cfg)}${path}`, {
        method,
        headers: { authorization: auth, accept: 'application/json' },
      });
      const text = await res.text();
      return { status: res.status, retry: res.headers.get('retry-after'), text };
    } catch (err) {
      return { status: 0, retry: null, text: (err as Error).message };
    }
  };
  const fail = (method: string, path: string, r: { status: number; retry: string | null; text: string }) => ({
    ok: false as const,
    kind: r.status ? kindOfStatus(r.status) : ('transient' as const),
    message: `zendesk ${method} ${path.replace(/\?.*$/, '')}: ${r.status || 'network'} ${r.text.slice(0, 200)}`.trim(),
    ...retryAfter(r.retry, now),
  });
  const ok = (s: number) => s >= 200 && s < 300;
  return eraseEach(
    async (id): Promise<DeleteOutcome> => {
      const path = `/users/${encodeURIComponent(id)}.json`;
      const soft = await call('DELETE', path);
      // Already soft-deleted (404): go on to the permanent delete.
      if (!ok(soft.status) && soft.status !== 404) return fail('DELETE', path, soft);
      const purgePath = `/deleted_users/${encodeURIComponent(id)}.json`;
      const hard = await call('DELETE', purgePath);
      return ok(hard.status) ? { ok: true } : fail('DELETE', purgePath, hard);
    },
    async (email) => {
      const path = `/users/search.json?query=${encodeURIComponent(`email:${email}`)}`;
      const r = await call('GET', path);
      if (!ok(r.status)) return fail('GET', path, r);
      const users = (JSON.parse(r.text || '{}') as { users?: { id?: number | string }[] }).users ?? [];
      return { ok: true, ids: users.map((u) => String(u.id)).filter((x) => x !== 'undefined') };
    },
  );
}
