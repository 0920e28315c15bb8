import type { FastifyInstance } from 'fastify';
import type { ConnectorAuthStatus } from '../../canonical/types.ts';
import { diagnoseConfig } from '../../connectors/common/doctor.ts';
import { requireRole } from '../auth.ts';
import type { AppDeps } from '../deps.ts';
import { op } from '../schemas.ts';

const nullableString = { type: ['string', 'null'] } as const;
const authSchema = {
  type: ['object', 'null'],
  properties: {
    state: { type: 'string', enum: ['ok', 'needs_reauth', 'rejected', 'unknown'] },
    renewable: { type: 'boolean' },
    expires_at: nullableString,
    last_renewed_at: nullableString,
    error: nullableString,
  },
  required: ['state', 'renewable', 'expires_at', 'last_renewed_at', 'error'],
} as const;
const checkSchema = {
  type: 'object',
  properties: {
    connector: { type: 'string' },
    check: {
      type: 'string',
      enum: ['reachable', 'credentials', 'scopes', 'properties', 'labels', 'webhooks', 'clock'],
    },
    status: { type: 'string', enum: ['ok', 'warn', 'fail', 'skip'] },
    detail: { type: 'string' },
    fix: nullableString,
  },
  required: ['connector', 'check', 'status', 'detail', 'fix'],
} as const;

/** The answer of `GET /v1/connectors/status`. */
const STATUS = {
  type: 'object',
  properties: {
    ok: { type: 'boolean' },
    connectors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { name: { type: 'string' }, auth: authSchema },
        required: ['name', 'auth'],
      },
    },
    checks: { type: 'array', items: checkSchema },
  },
  required: ['ok', 'connectors', 'checks'],
} as const;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A connector's credential state for the API (times as ISO strings; never a token). */
export function authView(s: ConnectorAuthStatus | undefined) {
  if (!s) return null;
  return { ...s, expires_at: iso(s.expires_at), last_renewed_at: iso(s.last_renewed_at) };
}

/** `GET /v1/connectors/status`: each connector's credential state and, unless `checks=false`, the doctor's checks. */
export function registerConnectorRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.addSchema({ $id: 'ConnectorsStatus', title: 'ConnectorsStatus', 'x-not-a-list': true, ...STATUS });
  app.get(
    '/connectors/status',
    {
      schema: op({
        tags: ['connectors'],
        summary: 'Credential state of each configured connector, and live checks against its system',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { checks: { type: 'boolean', default: true } },
        },
        ok: 'ConnectorsStatus',
        role: true,
      }),
    },
    async (req) => {
      requireRole(req.principal!, 'operator');
      const { checks: live } = req.query as { checks: boolean };
      // Checks first: they obtain or renew the shared credential, so the states below are current.
      const checks = live
        ? await diagnoseConfig(deps.config, { logger: deps.logger, ...(deps.now ? { now: deps.now } : {}) })
        : [];
      const connectors = Object.entries(deps.connectors).map(([name, c]) => ({
        name,
        auth: authView(c?.auth?.status()),
      }));
      const authBad = connectors.some((c) => c.auth && c.auth.state !== 'ok' && c.auth.state !== 'unknown');
      return { ok: !authBad && !checks.some((c) => c.status === 'fail'), connectors, checks };
    },
  );
}
