import type { FastifyInstance } from 'fastify';
import type { ConnectorId } from '../../canonical/types.ts';
import { HearthError, isHearthError } from '../../errors.ts';
import { storeDeliveries } from '../../engine/inbox.ts';
import { guardEvents } from '../../connectors/common/event-guard.ts';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../../connectors/common/ingress.ts';
import type { AppDeps } from '../deps.ts';
import { op } from '../schemas.ts';

/**
 * `POST /webhooks/:connector`: verify the raw bytes, parse to canonical events, store them in
 * the inbox, and only then answer 200. Nothing is stored for a request that fails any step:
 * the body is bounded (`server.body_limit_bytes`), may not nest deeper than `MAX_JSON_DEPTH`,
 * must match the connector's schema (its parser) and must give events every dialect can apply
 * (`guardEvents`), each failure a 400 naming the field.
 */
export function registerWebhookRoutes(scope: FastifyInstance, deps: AppDeps): void {
  const now = deps.now ?? Date.now;
  // Signatures cover the exact bytes: keep the body raw, whatever its content type.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  scope.post<{ Params: { connector: string } }>(
    '/webhooks/:connector',
    {
      bodyLimit: deps.config.server.body_limit_bytes,
      schema: op({
        summary: 'Receive a vendor webhook (signature-authenticated, no API key; the body is kept raw)',
        tags: ['webhooks'],
        params: { type: 'object', properties: { connector: { type: 'string' } }, required: ['connector'] },
        public: true,
        errors: ['unauthorized', 'payload_too_large'],
        ok: 'WebhookAck',
      }),
    },
    async (req) => {
      const name = req.params.connector;
      const connector = deps.connectors[name as ConnectorId];
      const ingress = connector?.ingress;
      if (!ingress) throw new HearthError('not_found', `no webhook connector "${name}" is configured`);
      const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v[0] : v]),
      );
      const url = `${req.protocol}://${req.headers.host ?? 'localhost'}${req.url}`;
      const request = { rawBody, headers, method: req.method, url, now: now() };
      const verdict = ingress.verify(request);
      if (!verdict.ok) {
        deps.metrics.webhookDeliveries.inc({ connector: name, outcome: 'unauthorized' });
        throw new HearthError('unauthorized', `${name} webhook: ${verdict.error}`);
      }
      let events;
      try {
        if (jsonDepthExceeds(rawBody))
          throw new HearthError('bad_request', `body nests deeper than ${MAX_JSON_DEPTH} levels`, { field: 'body' });
        events = guardEvents(ingress.parse(request));
      } catch (err) {
        deps.metrics.webhookDeliveries.inc({ connector: name, outcome: 'bad_request' });
        if (isHearthError(err)) throw err;
        // A parser that trips over a shape its schema let through is still the body's fault, not a 500
        // (a 5xx makes the vendor retry the same body for days).
        deps.logger.warn({ connector: name, err: String(err) }, 'webhook parser failed');
        throw new HearthError('bad_request', `${name} webhook: body could not be read`, { field: 'body' });
      }
      const outcome = await storeDeliveries(deps.hdb.db, name, events, now());
      deps.metrics.webhookDeliveries.inc({
        connector: name,
        outcome: outcome.accepted.length > 0 ? 'accepted' : 'duplicate',
      });
      if (outcome.accepted.length > 0) (deps.onInboxStored ?? deps.onEventsStored)?.();
      return { accepted: outcome.accepted.length, duplicates: outcome.duplicates };
    },
  );
}
