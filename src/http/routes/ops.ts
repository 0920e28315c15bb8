import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { pendingMigrations } from '../../db/migrate.ts';
import { inboxCounts } from '../../engine/inbox.ts';
import { jobCounts } from '../../engine/jobs.ts';
import type { AppDeps } from '../deps.ts';
import { registerConsole } from '../console-assets.ts';

/** Liveness, readiness, Prometheus metrics and the operator console landing page. */
export function registerOpsRoutes(app: FastifyInstance, deps: AppDeps): void {
  const db = deps.hdb.db;
  const hide = { hide: true };
  app.get('/healthz', { schema: hide }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: hide }, async (_req, reply) => {
    try {
      await sql`select 1`.execute(db);
      const pending = await pendingMigrations(db);
      if (pending.length > 0)
        return reply.status(503).send({ status: 'not_ready', reason: `migrations pending: ${pending.join(', ')}` });
      const refused = unauthenticated(deps);
      if (refused.length > 0)
        return reply.status(503).send({
          status: 'not_ready',
          reason: `cannot authenticate: ${refused.map((r) => `${r.name} (${r.state}: ${r.error})`).join('; ')}`,
          connectors: Object.fromEntries(refused.map((r) => [r.name, r.state])),
        });
      return { status: 'ready', database: deps.hdb.caps.name };
    } catch (err) {
      return reply.status(503).send({ status: 'not_ready', reason: `database unreachable: ${(err as Error).message}` });
    }
  });
  app.get('/metrics', { schema: hide }, async (_req, reply) => {
    await sampleDepths(deps);
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  registerConsole(app, deps);
}

async function sampleDepths(deps: AppDeps): Promise<void> {
  const [inbox, jobs] = await Promise.all([inboxCounts(deps.hdb.db), jobCounts(deps.hdb.db)]);
  deps.metrics.inboxDepth.reset();
  deps.metrics.outboxDepth.reset();
  for (const r of inbox) deps.metrics.inboxDepth.set({ status: r.status }, r.n);
  for (const r of jobs) deps.metrics.outboxDepth.set({ target: r.target, status: r.status }, r.n);
}

/** Connectors whose credential was refused: a revoked grant (`needs_reauth`) or a fixed token refused (`rejected`). */
function unauthenticated(deps: AppDeps): { name: string; state: string; error: string | null }[] {
  return Object.entries(deps.connectors).flatMap(([name, c]) => {
    const s = c?.auth?.status();
    return s && (s.state === 'needs_reauth' || s.state === 'rejected')
      ? [{ name, state: s.state, error: s.error }]
      : [];
  });
}
