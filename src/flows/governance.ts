import type { Kysely } from 'kysely';
import { connectorOfTarget } from '../canonical/fields.ts';
import type { HearthDb } from '../db/database.ts';
import type { Database, JobsTable } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import type { HearthConfig } from '../config/loader.ts';
import { createFlagReader, readFlags, setFlag, type FlagChange, type FlagReader } from '../governance/flag-store.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { EngineContext } from './context.ts';
import { createGovernedApplier } from './governed-applier.ts';
import { createQualityScreen } from './quality.ts';
import { flagProblem, type WritebackMode } from '../governance/flags.ts';
import type { DeliveryGate, GatePlan } from '../engine/gate.ts';
import { recordShadowWrites, releaseShadow } from '../governance/shadow-store.ts';
import { withErasureGuard } from '../governance/erasure-guard.ts';
import { tombstoneHasherSource } from '../governance/erasure-hash.ts';

type Db = Kysely<Database>;

export interface FlagChangeResult {
  change: FlagChange | null;
  /** Leaving shadow: held writes sent (newest per key, still different) and dropped. */
  released: { sent: number; dropped: number } | null;
}

/**
 * An admin changes a flag: validated against the configured connectors, audit-logged, and in the
 * same transaction, when a connector leaves shadow mode, its held writes are released (only the
 * newest per key, and only if it still differs from what the system last received).
 */
export async function changeFlag(
  db: Db,
  connectors: readonly string[],
  name: string,
  value: string,
  actor: string,
  now: number,
  reason: string | null = null,
): Promise<FlagChangeResult> {
  const problem = flagProblem(name, value, connectors);
  if (problem) throw new HearthError('bad_request', problem, { field: 'name' });
  return db.transaction().execute(async (trx) => {
    const change = await setFlag(trx, name, value, actor, now, reason);
    return { change, released: change ? await releaseLeftShadow(trx, change, now) : null };
  });
}

/**
 * After a write-back flag changed (the connector's or one flow's): held shadow writes of that
 * connector whose kind is no longer shadowed are released; null when the change left no shadow.
 */
async function releaseLeftShadow(trx: Db, change: FlagChange, now: number) {
  const [prefix, connector] = change.name.split('.');
  if (prefix !== 'writeback' || !connector) return null;
  const flags = await readFlags(trx);
  const released = await releaseShadow(trx, connector, now, (kind) => flags.writeback(connector, kind) === 'shadow');
  return released.sent + released.dropped > 0 || change.from === 'shadow' ? released : null;
}

const GATE: Record<WritebackMode, DeliveryGate> = { on: 'send', off: 'hold', shadow: 'shadow' };

/** The worker hooks of the write-back flags: read once per claimed batch, per target. */
export function writebackHooks(hdb: HearthDb, flags: FlagReader) {
  return {
    gate: async (target: string): Promise<GatePlan> => {
      const snapshot = await flags.current();
      const connector = connectorOfTarget(target);
      const byKind = new Map([...snapshot.flowModes(connector)].map(([k, m]) => [k, GATE[m]]));
      return { all: GATE[snapshot.writeback(connector)], byKind };
    },
    shadow: async (jobs: JobsTable[], now: number): Promise<void> => {
      await hdb.db.transaction().execute((trx) => recordShadowWrites(trx, jobs, now));
    },
  };
}

/**
 * What governance adds to a process's workers: the event applier under runtime flags and quality
 * rules, and the write-back gate (send, hold, shadow) per target. Flags are read per batch.
 * Outermost, the erasure guard: an event naming an erased person is held, never applied.
 */
export function governedWorkerOptions(
  hdb: HearthDb,
  config: HearthConfig,
  ctx: EngineContext,
  metrics: Metrics,
  logger: Logger,
) {
  const flags = createFlagReader(hdb.db);
  const screen = createQualityScreen(config.governance?.quality.rules ?? [], { metrics, logger });
  // While a data key is set, inbox payloads are encrypted: each event's subjects are indexed for erasure.
  const applier = withErasureGuard(
    createGovernedApplier(ctx, flags, screen),
    tombstoneHasherSource(config.security),
    config.security.current_key !== null,
  );
  return { applier, ...writebackHooks(hdb, flags) };
}
