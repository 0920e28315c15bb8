import { idpTargetsOf, loyaltySettings } from '../config/derive.ts';
import type { HearthConfig } from '../config/loader.ts';
import { descriptorOf, namesWith, type ConnectorRegistry } from '../connectors/registry.ts';
import { createLogger } from '../log.ts';
import type { ContactSource, HouseholdSource } from '../canonical/types.ts';
import type { HearthDb } from '../db/database.ts';
import { HearthError } from '../errors.ts';
import type { EngineContext } from './context.ts';
import { runPull, type PullSummary } from './crm-pull.ts';

// Household reads log nothing of their own; their failures surface through the pull.
const silentLogger = createLogger('silent');

export interface PullSources {
  contacts: ContactSource;
  households: HouseholdSource | null;
  extra_properties: string[];
}

/**
 * What a pull of `name` reads: the connector's contact pages and, if it is the household source,
 * its household reads.
 */
export function pullSources(
  config: HearthConfig,
  connectors: ConnectorRegistry,
  name: string,
  now: () => number = Date.now,
): PullSources {
  const pullable = namesWith(config.descriptors, 'pull');
  if (!pullable.includes(name))
    throw new HearthError('not_found', `connector ${name} cannot be pulled (one of: ${pullable.join(', ')})`);
  const contacts = connectors[name]?.source;
  if (!contacts) throw new HearthError('not_found', `connector ${name} is not configured (connectors.${name})`);
  const h = config.households;
  if (!h || h.source !== name) return { contacts, households: null, extra_properties: [] };
  const d = descriptorOf(config.descriptors, name)!;
  const block = (config.connectors as Record<string, unknown>)[name];
  const households = d.households ? d.households(block, h, { logger: silentLogger, now }) : null;
  return { contacts, households, extra_properties: [h.opt_in_property, ...(d.household_fields ?? [])] };
}

export interface PullRequest {
  restart?: boolean;
  max_pages?: number;
  page_size?: number;
  onPage?: (s: PullSummary) => void;
}

/** One pull of one connector with the process's config (CLI and HTTP share it). */
export async function pullConnector(
  hdb: HearthDb,
  config: HearthConfig,
  connectors: ConnectorRegistry,
  ctx: EngineContext,
  name: string,
  r: PullRequest,
  now: () => number = Date.now,
): Promise<PullSummary> {
  const src = pullSources(config, connectors, name, now);
  return runPull({
    hdb,
    ctx,
    connector: name,
    ...src,
    now,
    effects: { idp: idpTargetsOf(config), max_attempts: config.jobs.max_attempts, loyalty: loyaltySettings(config) },
    page_size: r.page_size ?? config.households?.page_size ?? 100,
    ...(r.restart ? { restart: true } : {}),
    ...(r.max_pages ? { max_pages: r.max_pages } : {}),
    ...(r.onPage ? { onPage: r.onPage } : {}),
  });
}
