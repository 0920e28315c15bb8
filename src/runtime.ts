import type { FastifyInstance } from 'fastify';
import type { HearthConfig } from './config/loader.ts';
import { buildConnectors, jobTargets, type ConnectorRegistry } from './connectors/registry.ts';
import type { FetchLike } from './connectors/webhook/index.ts';
import { loadTaggerModel } from './address/index.ts';
import { openDatabase, type HearthDb, type WorkChannel } from './db/database.ts';
import { migrateWithData } from './flows/migrate.ts';
import { buildApp } from './http/app.ts';
import { createTokenStore } from './connectors/common/credentials-store.ts';
import { createDataCipher } from './crypto/data-keys.ts';
import { engineContext } from './flows/engine-context.ts';

export { engineContext };
import type { Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { startWorkers, type Workers } from './engine/worker.ts';
import { learnLinksOnDelivery } from './flows/delivered.ts';
import { withDisclosures } from './governance/disclosures.ts';
import { createReconcileRunner } from './flows/reconcile-run.ts';
import { startStreams } from './flows/stream-inbox.ts';
import { governedWorkerOptions } from './flows/governance.ts';
import { scheduleRetention } from './governance/retention.ts';
import { secureDatabase } from './crypto/key-check.ts';
import { startBackgroundRotation, type BackgroundRotation } from './crypto/background.ts';

export interface Hearth {
  app: FastifyInstance;
  hdb: HearthDb;
  connectors: ConnectorRegistry;
  metrics: Metrics;
  workers: Workers | null;
  /** Base URL once listening. */
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  logger: Logger;
  /** Run the inbox and outbox workers in this process (default true). */
  workers?: boolean;
  /** Apply pending migrations at start (default true; the migrator holds a lock). */
  migrate?: boolean;
  listen?: boolean;
  now?: () => number;
  fetch?: FetchLike;
  /** Use this open database instead of opening config.database (tests); it is not closed by close(). */
  hdb?: HearthDb;
  /** Check every HTTP answer against its schema (tests). */
  strictResponses?: boolean;
}

/** Wires one Hearth process from validated config: database, connectors, HTTP app, workers. */
export async function startHearth(config: HearthConfig, o: StartOptions): Promise<Hearth> {
  const owned = !o.hdb;
  let workers: Workers | null = null;
  const opened =
    o.hdb ??
    openDatabase(config.database, { onIdleError: (err) => o.logger.warn({ err }, 'database connection dropped') });
  let hdb: HearthDb = opened;
  let rotation: BackgroundRotation | null = null;
  try {
    if (o.migrate !== false) await migrateWithData(opened.db);
    // Data keys are checked before anything is read or written: a wrong key refuses to start.
    const secured = await secureDatabase(opened, config.security, o.now?.());
    hdb = secured;
    const connectors = buildConnectors(config.descriptors, config.connectors, {
      logger: o.logger,
      // Renewed tokens and needs_reauth shared by the processes on this database (encrypted, or state only).
      tokens: createTokenStore(hdb, createDataCipher(config.security), o.now),
      ...(o.now ? { now: o.now } : {}),
      ...(o.fetch ? { fetch: o.fetch } : {}),
    });
    const metrics = createMetrics();
    // Webhooks are parsed from the first request on: read the address model before listening.
    loadTaggerModel();
    workers =
      o.workers === false
        ? null
        : startWorkers({
            hdb,
            ...governedWorkerOptions(hdb, config, engineContext(config, connectors), metrics, o.logger),
            // Per settled batch: the crosswalk learns the records; the audit records which fields went where.
            onDelivered: withDisclosures(learnLinksOnDelivery),
            connectors,
            targets: jobTargets(config.descriptors, config),
            retry: config.jobs,
            lease_ms: config.jobs.lease_seconds * 1000,
            batch: config.jobs.batch_size,
            concurrency: config.jobs.concurrency,
            apply_batch: config.jobs.apply_batch_size,
            apply_linger_ms: config.jobs.apply_linger_ms,
            poll_interval_ms: config.jobs.poll_interval_ms,
            logger: o.logger,
            metrics,
            ...(o.now ? { now: o.now } : {}),
          });
    const running = workers;
    // Where the workers run, an unfinished data-key rotation continues in the background.
    rotation = running && secured.cipher ? startBackgroundRotation(secured.raw, secured.cipher, o.logger) : null;
    // Other processes on the same PostgreSQL database wake this one's loops (and it theirs).
    const stopListening =
      running && hdb.signals
        ? hdb.signals.listen(
            (ch) => (ch === 'inbox' ? running.wakeInbox() : running.wake()),
            (err) => o.logger.warn({ err }, 'work notifications dropped; reconnecting'),
          )
        : null;
    const signal = (...channels: WorkChannel[]) => {
      for (const ch of channels)
        hdb.signals?.notify(ch).catch((err: unknown) => o.logger.warn({ err }, 'could not notify other processes'));
    };
    const app = await buildApp({
      config,
      hdb,
      connectors,
      metrics,
      logger: o.logger,
      onEventsStored: () => {
        running?.wake();
        signal('inbox', 'jobs');
      },
      onInboxStored: () => {
        running?.wakeInbox();
        signal('inbox');
      },
      ...(o.now ? { now: o.now } : {}),
      ...(o.strictResponses ? { strictResponses: true } : {}),
    });
    // Scheduled reconciliation runs where the workers run; the timer is cleared on close.
    const reconciler =
      running && config.reconcile.schedule_minutes > 0
        ? createReconcileRunner(
            {
              hdb,
              connectors,
              config,
              metrics,
              logger: o.logger,
              onJobsQueued: () => {
                running.wake();
                signal('jobs');
              },
              ...(o.now ? { now: o.now } : {}),
            },
            config.reconcile.schedule_minutes,
          )
        : null;
    // Retention periods are enforced where the workers run (a pass per interval; none without periods).
    const retention = running
      ? scheduleRetention(hdb.db, config.governance.retention, {
          logger: o.logger,
          removed: (kind, n) => metrics.retentionRemoved.inc({ kind }, n),
        })
      : null;
    const url = o.listen === false ? '' : await app.listen({ host: config.server.host, port: config.server.port });
    // Connector streams (Salesforce CDC) feed the inbox where the workers run: started once the app
    // listens (a failed start leaves none open), closed first.
    const streams = running
      ? startStreams(config.descriptors, config.connectors, hdb, {
          logger: o.logger,
          onStored: () => {
            running.wakeInbox();
            signal('inbox');
          },
          ...(o.now ? { now: o.now } : {}),
          ...(o.fetch ? { fetch: o.fetch } : {}),
        })
      : [];
    return {
      app,
      hdb,
      connectors,
      metrics,
      workers: running,
      url,
      close: async () => {
        await Promise.all(streams.map((s) => s.stop()));
        await reconciler?.close();
        await retention?.close();
        await app.close();
        await stopListening?.();
        await rotation?.stop();
        await running?.stop();
        if (owned) await hdb.close();
      },
    };
  } catch (err) {
    await rotation?.stop();
    await workers?.stop();
    if (owned) await hdb.close();
    throw err;
  }
}
