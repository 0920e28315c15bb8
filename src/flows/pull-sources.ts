import { loyaltySettings } from '../loyalty/settings.ts';
import { Client } from '@hubspot/api-client';
import type { HearthConfig } from '../config/loader.ts';
import { createHubSpotHouseholds } from '../connectors/hubspot/households.ts';
import type { ConnectorRegistry } from '../connectors/registry.ts';
import { createSalesforceHouseholds } from '../connectors/salesforce/households.ts';
import type { ConnectorId, ContactSource, HouseholdSource } from '../canonical/types.ts';
import { createZohoHouseholds } from '../connectors/zoho/index.ts';
import type { HearthDb } from '../db/database.ts';
import { HearthError } from '../errors.ts';
import type { EngineContext } from './context.ts';
import { runPull, type PullSummary } from './crm-pull.ts';

export interface PullSources {
  contacts: ContactSource;
  households: HouseholdSource | null;
  extra_properties: string[];
}

const PULLABLE = ['hubspot', 'salesforce', 'zoho'] as const;
/** Contact fields the household reads need besides the opt-in (the account lookup). */
const HOUSEHOLD_FIELDS: Partial<Record<ConnectorId, string[]>> = { salesforce: ['AccountId'], zoho: ['Account_Name'] };

/** What a pull of `name` reads: the connector's contact pages and, if it is the household source, its household reads. */
export function pullSources(config: HearthConfig, connectors: ConnectorRegistry, name: string, now: () => number = Date.now): PullSources {
  if (!(PULLABLE as readonly string[]).includes(name)) throw new HearthError('not_found', `connector ${name} cannot be pulled (one of: ${PULLABLE.join(', ')})`);
  const id = name as ConnectorId;
  const contacts = connectors[id]?.source;
  if (!contacts) throw new HearthError('not_found', `connector ${name} is not configured (connectors.${name})`);
  const h = config.households;
  if (!h || h.source !== id) return { contacts, households: null, extra_properties: [] };
  return { contacts, households: householdSource(config, id, now), extra_properties: [h.opt_in_property, ...(HOUSEHOLD_FIELDS[id] ?? [])] };
}

function householdSource(config: HearthConfig, id: ConnectorId, now: () => number): HouseholdSource | null {
  const h = config.households!;
  const c = config.connectors;
  if (id === 'hubspot' && c.hubspot) {
    const client = new Client({ accessToken: c.hubspot.access_token, basePath: c.hubspot.base_url.replace(/\/$/, ''), numberOfApiCallRetries: 0 });
    return createHubSpotHouseholds(client, { mode: h.hubspot_mode, opt_in_property: h.opt_in_property, head_labels: h.head_labels, member_labels: h.member_labels }, now);
  }
  if (id === 'salesforce' && c.salesforce) return createSalesforceHouseholds(c.salesforce, { opt_in_property: h.opt_in_property });
  if (id === 'zoho' && c.zoho) return createZohoHouseholds(c.zoho, { opt_in_property: h.opt_in_property });
  return null;
}

export interface PullRequest {
  restart?: boolean;
  max_pages?: number;
  page_size?: number;
  onPage?: (s: PullSummary) => void;
}

/** One pull of one connector with the process's config (CLI and HTTP share it). */
export async function pullConnector(hdb: HearthDb, config: HearthConfig, connectors: ConnectorRegistry, ctx: EngineContext, name: string, r: PullRequest, now: () => number = Date.now): Promise<PullSummary> {
  const src = pullSources(config, connectors, name, now);
  return runPull({
    hdb, ctx, connector: name, ...src, now,
    effects: { idp: config.connectors, max_attempts: config.jobs.max_attempts, loyalty: loyaltySettings(config) },
    page_size: r.page_size ?? config.households?.page_size ?? 100,
    ...(r.restart ? { restart: true } : {}), ...(r.max_pages ? { max_pages: r.max_pages } : {}), ...(r.onPage ? { onPage: r.onPage } : {}),
  });
}
