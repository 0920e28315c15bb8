import type { FastifyInstance } from 'fastify';
import type { ConnectorId } from '../../canonical/types.ts';
import { HearthError } from '../../errors.ts';
import { storeDeliveries } from '../../engine/inbox.ts';
import type { AppDeps } from '../deps.ts';
import { op } from '../schemas.ts';

/**
 * `POST /webhooks/:connector`: verify the raw bytes, parse to canonical events, store them in
 * the inbox, and only then answer 200. Nothing is stored for a request that fails any step.
 */
export function registerWebhookRoutes(scope: FastifyInstance, deps: AppDeps): void {
  const now = deps.now ?? Date.now;
  // Signatures cover the exact bytes: keep the body raw, whatever its content type.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  scope.post<{ Params: { connector: string } }>(
    '/webhooks/:connector',
    {
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
        events = ingress.parse(request);
      } catch (err) {
        deps.metrics.webhookDeliveries.inc({ connector: name, outcome: 'bad_request' });
        throw err;
      }
      const outcome = await storeDeliveries(deps.hdb.db, name, events, now());
      deps.metrics.webhookDeliveries.inc({
        connector: name,
        outcome: outcome.accepted.length > 0 ? 'accepted' : 'duplicate',
      });
      if (outcome.accepted.length > 0) deps.onEventsStored?.();
      return { accepted: outcome.accepted.length, duplicates: outcome.duplicates };
    },
  );
}
