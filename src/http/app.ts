import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { errorBody, HearthError, isHearthError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AppDeps } from './deps.ts';
import { authenticate, type Principal } from './auth.ts';
import { registerApiRoutes } from './routes/api.ts';
import { registerOpsRoutes } from './routes/ops.ts';
import { registerWebhookRoutes } from './routes/webhooks.ts';
import { addSharedSchemas, responseSerializer } from './schemas.ts';
import { recordRequest } from './request-metrics.ts';
import { registerApiLimits, registerSecurity } from './security.ts';

export type { AppDeps };

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Builds the HTTP app without listening, so tests drive it with `app.inject()`. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Request lines log method and path only (the logger's `req` serializer, log.ts): no `?email=`.
    bodyLimit: Math.max(deps.config.server.body_limit_bytes, deps.config.server.api_body_limit_bytes),
    // Through the schema controller, not setSerializerCompiler: a scope that adds a schema (a route
    // file's component) gets a fresh compiler from this factory; with setSerializerCompiler it
    // would silently fall back to fast-json-stringify, which drops undeclared fields and skips the
    // strict check.
    schemaController: {
      compilersFactory: {
        buildSerializer: (schemas) =>
          responseSerializer(deps.strictResponses ?? false, schemas as Record<string, unknown> | undefined),
      },
    },
  });
  addSharedSchemas(app);
  app.addHook('onResponse', recordRequest(deps.metrics));
  await registerSecurity(app, deps.config);
  app.setErrorHandler((err: FastifyError, req, reply) => sendError(err, req, reply, deps.logger));
  app.setNotFoundHandler((req, reply) => {
    void reply
      .status(404)
      .send(errorBody(new HearthError('not_found', `no route ${req.method} ${req.url.split('?')[0]}`)));
  });
  await app.register(swagger, {
    // Shared schemas appear in components under their $id (schemas.ts), not as def-N.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (json.$id as string) ?? `def-${i}` },
    openapi: {
      info: {
        title: 'Hearth API',
        version: '0.1.0',
        description:
          'Customer identity and household master-data hub. `/v1` calls need `Authorization: Bearer <api key>`.',
      },
      // Component schemas come from schemas.ts (addSharedSchemas); routes build theirs with op().
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(async (scope) => registerWebhookRoutes(scope, deps));
  await app.register(
    async (scope) => {
      await registerApiLimits(scope, deps.config);
      scope.addHook('onRequest', async (req) => {
        req.principal = await authenticate(deps.hdb.db, req.headers.authorization, deps.config.bootstrap_api_key);
      });
      registerApiRoutes(scope, deps);
    },
    { prefix: '/v1' },
  );
  registerOpsRoutes(app, deps);
  return app;
}

function sendError(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply, logger: Logger): void {
  const hearth = toHearthError(err);
  if (hearth.code === 'internal') logger.error({ err, path: req.url.split('?')[0] }, 'unhandled error');
  void reply.status(hearth.status).send(errorBody(hearth));
}

/** Maps Fastify's own errors (validation, body size, content type) onto Hearth's codes. */
function toHearthError(err: FastifyError | Error): HearthError {
  if (isHearthError(err)) return err;
  const f = err as FastifyError;
  if (f.validation) {
    const v = f.validation[0];
    const field = v
      ? `${f.validationContext ?? 'body'}${v.instancePath.replaceAll('/', '.')}${
          (v.params as { missingProperty?: string }).missingProperty
            ? `.${(v.params as { missingProperty: string }).missingProperty}`
            : ''
        }`
      : 'body';
    return new HearthError('bad_request', `${field}: ${v?.message ?? 'invalid'}`, { field });
  }
  if (f.statusCode === 413) return new HearthError('payload_too_large', 'request body is larger than the limit');
  if (f.statusCode === 415) return new HearthError('unsupported_media_type', 'send the body as application/json');
  if (f.statusCode === 400) return new HearthError('bad_request', f.message);
  return new HearthError('internal', 'internal error');
}
