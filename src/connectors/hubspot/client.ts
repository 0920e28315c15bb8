import { Client } from '@hubspot/api-client';
import type { Agent } from 'node:http';
import { DEFAULT_TIMEOUT_MS, timeoutAgent } from '../common/timeout.ts';

interface HttpLibrary {
  send(ctx: { setAgent(agent: Agent): void }): unknown;
}

/**
 * The SDK client every HubSpot call goes through, with a timeout. SDK v13 adds its RetryDecorator
 * only when `numberOfApiCallRetries` > 0 (it would sleep 10 s on a ten-secondly 429 and retry 5xx)
 * and its Bottleneck limiter only when `limiterOptions` is given: we pass 0 and no limiter, so
 * every 429/5xx reaches the outbox, which alone decides retries. The SDK takes `httpAgent` but
 * v13's generated APIs drop configured middleware (the agent with it) unless a call passes its
 * own options, and it has no timeout: so each API group's HTTP library is wrapped to hand every
 * request an agent that destroys a socket silent for `timeout_ms`.
 */
export function hubspotClient(cfg: {
  access_token: string;
  base_url: string;
  timeout_ms?: number | undefined;
}): Client {
  const client = new Client({
    accessToken: cfg.access_token,
    basePath: cfg.base_url.replace(/\/$/, ''),
    numberOfApiCallRetries: 0,
  });
  const agent = timeoutAgent(cfg.base_url, cfg.timeout_ms ?? DEFAULT_TIMEOUT_MS);
  wrapTimeouts(client, agent);
  // setAccessToken (a renewed OAuth token) rebuilds the API groups: wrap the new ones too.
  const setToken = client.setAccessToken.bind(client);
  client.setAccessToken = (token: string) => {
    setToken(token);
    wrapTimeouts(client, agent);
  };
  return client;
}

function wrapTimeouts(client: Client, agent: Agent): void {
  // contacts.basicApi shares its configuration with batchApi and searchApi (one per API group).
  for (const api of [
    client.crm.contacts.basicApi,
    client.crm.companies.batchApi,
    client.crm.associations.v4.batchApi,
  ]) {
    const conf = (api as unknown as { api: { configuration: { httpApi: HttpLibrary } } }).api.configuration;
    const inner = conf.httpApi;
    conf.httpApi = {
      send: (ctx) => {
        ctx.setAgent(agent);
        return inner.send(ctx);
      },
    };
  }
}
