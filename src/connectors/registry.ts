import type { HearthConfig } from '../config/loader.ts';
import type { Logger } from '../log.ts';
import { createHubSpotConnector } from './hubspot/index.ts';
import { createSalesforceConnector } from './salesforce/index.ts';
import { createShopifyConnector } from './shopify/index.ts';
import type { Connector, ConnectorId } from '../canonical/types.ts';
import { createZohoConnector } from './zoho/index.ts';
import { createWebhookConnector, type FetchLike } from './webhook/index.ts';
import { createAuth0Connector } from './auth0/index.ts';
import { createKeycloakConnector } from './keycloak/index.ts';
import { createScimConnector } from './scim/index.ts';

/** The one registry: every configured connector by id. Unconfigured connectors are absent. */
export type ConnectorRegistry = Partial<Record<ConnectorId, Connector>>;

export interface ConnectorDeps {
  logger: Logger;
  now?: () => number;
  fetch?: FetchLike;
}

export function buildConnectors(cfg: HearthConfig['connectors'], deps: ConnectorDeps): ConnectorRegistry {
  const registry: ConnectorRegistry = {};
  if (cfg.shopify) registry.shopify = createShopifyConnector(cfg.shopify);
  if (cfg.hubspot) registry.hubspot = createHubSpotConnector(cfg.hubspot, { logger: deps.logger, ...(deps.now ? { now: deps.now } : {}) });
  if (cfg.salesforce) registry.salesforce = createSalesforceConnector(cfg.salesforce, { logger: deps.logger, ...(deps.now ? { now: deps.now } : {}) });
  if (cfg.zoho) registry.zoho = createZohoConnector(cfg.zoho, { ...(deps.now ? { now: deps.now } : {}) });
  if (cfg.webhook) registry.webhook = createWebhookConnector(cfg.webhook.targets, { ...(deps.fetch ? { fetch: deps.fetch } : {}), ...(deps.now ? { now: deps.now } : {}) });
  if (cfg.scim) registry.scim = createScimConnector(cfg.scim, { now: deps.now });
  if (cfg.auth0) registry.auth0 = createAuth0Connector(cfg.auth0, { now: deps.now });
  if (cfg.keycloak) registry.keycloak = createKeycloakConnector(cfg.keycloak, { now: deps.now });
  return registry;
}

/** Job targets the configured connectors serve: the write-back CRM and each webhook subscriber. */
export function jobTargets(config: HearthConfig): string[] {
  const targets: string[] = [];
  if (config.writeback.crm) targets.push(config.writeback.crm);
  // The household CRM receives opt-in write-backs.
  if (config.households && !targets.includes(config.households.source)) targets.push(config.households.source);
  for (const t of config.connectors.webhook?.targets ?? []) targets.push(`webhook:${t.name}`);
  for (const idp of ['scim', 'auth0', 'keycloak'] as const) if (config.connectors[idp]) targets.push(idp);
  return targets;
}
