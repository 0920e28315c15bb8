import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';

/** How long a vendor call may go without an answer when the connector's config does not say. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * An HTTP agent for SDKs that take an agent but no timeout (the HubSpot SDK's node-fetch): a
 * socket silent for `ms` is destroyed, so the call fails with a network error ("timeout") the
 * connector maps to a transient failure and the outbox retries, instead of hanging its batch.
 */
export function timeoutAgent(baseUrl: string, ms: number): http.Agent {
  const agent = baseUrl.startsWith('https:')
    ? new https.Agent({ keepAlive: true, timeout: ms })
    : new http.Agent({ keepAlive: true, timeout: ms });
  const create = (agent as unknown as { createConnection: (...a: unknown[]) => Socket }).createConnection.bind(agent);
  (agent as unknown as { createConnection: (...a: unknown[]) => Socket }).createConnection = (...args: unknown[]) => {
    const socket = create(...args);
    socket.setTimeout(ms);
    socket.on('timeout', () => socket.destroy(new Error(`no answer within ${ms} ms (timeout)`)));
    return socket;
  };
  return agent;
}
