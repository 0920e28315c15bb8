import type { FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import { createRequire } from 'node:module';
import rateLimit from '@fastify/rate-limit';
import { HearthError } from '../errors.ts';
import type { HearthConfig } from '../config/loader.ts';

const HELMET_OPTIONS = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      // The console's modules are files served by Hearth (/console/*): no inline script at all.
      scriptSrc: ["'self'"],
      // Swagger UI sets inline styles; styles cannot run code.
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  },
  referrerPolicy: { policy: 'no-referrer' as const },
};

type HelmetMiddleware = (req: unknown, res: unknown, next: (err?: unknown) => void) => void;

/**
 * The headers helmet sets with HELMET_OPTIONS, worked out once: none depends on the request (no
 * nonces, no functions in the directives). Helmet is the copy @fastify/helmet itself loads.
 */
function staticHelmetHeaders(): { set: [string, string | string[]][]; removed: string[] } {
  const load = createRequire(createRequire(import.meta.url).resolve('@fastify/helmet'));
  const helmetOf = load('helmet') as (options: object) => HelmetMiddleware;
  const set = new Map<string, string | string[]>();
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: string | string[]) => void set.set(name, value),
    removeHeader: (name: string) => void removed.push(name),
  };
  helmetOf(HELMET_OPTIONS)({}, recorder, (err) => {
    if (err) throw err;
  });
  return { set: [...set], removed };
}

/**
 * Security headers for every response (helmet): a CSP that allows scripts from Hearth itself
 * only (no inline script), no framing (`frame-ancestors 'none'`: the console's
 * re-drive buttons cannot be clickjacked), nosniff, `Referrer-Policy: no-referrer`. Responses
 * other than the static API docs are `Cache-Control: no-store` (they carry customer data).
 * CORS only for the configured origins.
 */
export async function registerSecurity(app: FastifyInstance, config: HearthConfig): Promise<void> {
  // The plugin stays registered (`reply.helmet()`), but applies nothing per request itself: it
  // rebuilt helmet from these options (CSP directives parsed again) for every request.
  await app.register(helmet, { ...HELMET_OPTIONS, global: false });
  const headers = staticHelmetHeaders();
  app.addHook('onRequest', (_req, reply, done) => {
    for (const name of headers.removed) reply.raw.removeHeader(name);
    for (const [name, value] of headers.set) reply.raw.setHeader(name, value);
    done();
  });
  app.addHook('onSend', async (req, reply) => {
    if (!req.url.startsWith('/docs')) void reply.header('cache-control', 'no-store');
  });
  const origins = config.server.cors_origins;
  if (origins.length > 0) await app.register(cors, { origin: origins, credentials: false });
}

/**
 * Inside the `/v1` scope: at most `server.rate_limit_per_minute` requests per API key, then
 * 429 with Retry-After; and the API's own body limit.
 */
export async function registerApiLimits(scope: FastifyInstance, config: HearthConfig): Promise<void> {
  scope.addHook('onRoute', (route) => {
    route.bodyLimit ??= config.server.api_body_limit_bytes;
  });
  const max = config.server.rate_limit_per_minute;
  if (max === 0) return;
  await scope.register(rateLimit, {
    max,
    timeWindow: 60_000,
    // After authentication (an unknown key is a 401 first), so the bucket is the key's own.
    hook: 'preHandler',
    keyGenerator: (req) => (req.principal ? `key:${req.principal.key_id}` : `ip:${req.ip}`),
    errorResponseBuilder: (_req, ctx) =>
      new HearthError('rate_limited', `rate limit of ${ctx.max} requests per minute exceeded; retry in ${ctx.after}`),
  });
}
