import type { HearthConfig } from '../config/loader.ts';
import type { ConnectorRegistry } from '../connectors/registry.ts';
import type { HearthDb } from '../db/database.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';

/** What the HTTP app and its routes are built from (one process's wiring, runtime.ts). */
export interface AppDeps {
  config: HearthConfig;
  hdb: HearthDb;
  connectors: ConnectorRegistry;
  metrics: Metrics;
  logger: Logger;
  /** Called after webhook events are stored, to start applying them at once. */
  onEventsStored?: () => void;
  /** Webhooks stored inbox events only (no jobs): wake the apply loop, not every target. */
  onInboxStored?: () => void;
  now?: () => number;
  /** Check every answer against its response schema (tests): a mismatch is a 500. */
  strictResponses?: boolean;
}
