import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Metrics } from '../metrics.ts';

/** onResponse hook: one observation per request, labelled by the route pattern (`/v1/customers/:id`). */
export function recordRequest(metrics: Metrics) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const route = req.routeOptions.url ?? '(unmatched)';
    metrics.httpDuration.observe(
      { method: req.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  };
}
