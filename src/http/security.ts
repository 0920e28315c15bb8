import type { FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import { HearthError } from '../errors.ts';
import type { HearthConfig } from '../config/loader.ts';

/**
 * Security headers for every response (helmet): a CSP that allows scripts from Hearth itself
 * only (no inline script), no framing (`frame-ancestors 'none'`: the console's
 * re-drive buttons cannot be clickjacked), nosniff, `Referrer-Policy: no-referrer`. Responses
 * other than the static API docs are `Cache-Control: no-store` (they carry customer data).
 * CORS only for the configured origins.
 */
export async function registerSecurity(app: FastifyInstance, config: HearthConfig): Promise<void> {
  await app.register(helmet, {
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
    referrerPolicy: { policy: 'no-referrer' },
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
