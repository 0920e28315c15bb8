import { readFile } from 'node:fs/promises';
import { createRequire, stripTypeScriptTypes } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { inboxCounts } from '../engine/inbox.ts';
import { jobCounts } from '../engine/jobs.ts';
import { HearthError } from '../errors.ts';
import type { AppDeps } from './deps.ts';
import { renderConsole } from './console-page.ts';

const CONSOLE_DIR = fileURLToPath(new URL('../console/', import.meta.url));
/** A module or style sheet of src/console/ by its path there; never a test, never outside the folder. */
const ASSET = /^(?:[a-z0-9-]+\/)*[a-z0-9-]+\.(ts|css)$/;

/** Stripped once per process: the sources do not change under a running Hearth. */
const cache = new Map<string, { type: string; body: string }>();

async function consoleAsset(path: string): Promise<{ type: string; body: string }> {
  const hit = cache.get(path);
  if (hit) return hit;
  const m = ASSET.exec(path);
  if (!m || path.endsWith('.test.ts')) throw new HearthError('not_found', `no console file ${path}`);
  const source = await readFile(join(CONSOLE_DIR, path), 'utf8').catch(() => {
    throw new HearthError('not_found', `no console file ${path}`);
  });
  const asset =
    m[1] === 'ts'
      ? { type: 'text/javascript; charset=utf-8', body: stripTypeScriptTypes(source, { mode: 'strip' }) }
      : { type: 'text/css; charset=utf-8', body: source };
  cache.set(path, asset);
  return asset;
}

/** uPlot's browser build, served from node_modules (no CDN: the console works offline and under its CSP). */
async function vendorAsset(name: string): Promise<{ type: string; body: string }> {
  const hit = cache.get(`vendor/${name}`);
  if (hit) return hit;
  const file = { 'uplot.js': 'uPlot.esm.js', 'uplot.css': 'uPlot.min.css' }[name];
  if (!file) throw new HearthError('not_found', `no console file vendor/${name}`);
  const dist = dirname(createRequire(import.meta.url).resolve('uplot'));
  const body = await readFile(join(dist, file), 'utf8');
  const asset = { type: name.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8', body };
  cache.set(`vendor/${name}`, asset);
  return asset;
}

/**
 * The console: `/` is the HTML shell with counts only (no key needed, nothing personal), and
 * `/console/*` serves the browser modules of src/console/ with their types stripped by Node
 * (`module.stripTypeScriptTypes`), so they are written in TypeScript without a build step.
 */
export function registerConsole(app: FastifyInstance, deps: AppDeps): void {
  const db = deps.hdb.db;
  const hide = { hide: true };
  app.get('/', { schema: hide }, async (_req, reply) => {
    const now = (deps.now ?? Date.now)();
    const windowMs = deps.config.writeback.sync_window_seconds * 1000;
    const count = (q: { executeTakeFirst: () => Promise<{ n: number | string | bigint } | undefined> }) =>
      q.executeTakeFirst().then((r) => Number(r?.n ?? 0));
    const n = sql<number>`count(*)`.as('n');
    const [inbox, jobs, customers, households, review, late] = await Promise.all([
      inboxCounts(db),
      jobCounts(db),
      count(db.selectFrom('customers').select(n).where('merged_into', 'is', null)),
      count(db.selectFrom('households').select(n)),
      count(db.selectFrom('review_items').select(n).where('status', '=', 'pending')),
      count(
        db
          .selectFrom('jobs')
          .select(n)
          .where('kind', '=', 'crm.address_write')
          .where((eb) =>
            eb.or([
              eb.and([eb('status', '=', 'done'), eb(sql`done_at - origin_at`, '>', windowMs)]),
              eb.and([eb('status', 'in', ['pending', 'running', 'dead']), eb('origin_at', '<', now - windowMs)]),
            ]),
          ),
      ),
    ]);
    const byStatus = new Map<string, number>();
    for (const j of jobs) byStatus.set(j.status, (byStatus.get(j.status) ?? 0) + j.n);
    return reply.type('text/html; charset=utf-8').send(
      renderConsole({
        customers,
        households,
        inbox,
        jobs: [...byStatus].map(([status, n]) => ({ status, n })),
        late_writebacks: late,
        review_pending: review,
        window_s: deps.config.writeback.sync_window_seconds,
      }),
    );
  });
  app.get<{ Params: { name: string } }>('/console/vendor/:name', { schema: hide }, async (req, reply) => {
    const a = await vendorAsset(req.params.name);
    return reply.type(a.type).send(a.body);
  });
  app.get<{ Params: { '*': string } }>('/console/*', { schema: hide }, async (req, reply) => {
    const a = await consoleAsset(req.params['*']);
    return reply.type(a.type).send(a.body);
  });
}
