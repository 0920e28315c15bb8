import type { HearthConfig } from '../config/loader.ts';
import { erasableSystems } from '../connectors/registry.ts';
import type { HearthDb } from '../db/database.ts';
import { enqueueJobs } from '../engine/jobs.ts';
import { eraseCustomer, type ErasureOutcome } from '../governance/erasure.ts';
import { tombstoneHasher } from '../governance/erasure-hash.ts';

/**
 * Erases a customer (governance/erasure.ts) and queues one erasure job per configured system
 * whose connector can erase, all in one transaction: either the person is gone here and every
 * system's job is queued, or nothing changed.
 */
export async function runErasure(
  hdb: HearthDb,
  config: Pick<HearthConfig, 'security' | 'descriptors' | 'connectors' | 'jobs' | 'governance'>,
  customerId: string,
  actor: string,
  now: number,
): Promise<ErasureOutcome> {
  return hdb.db.transaction().execute(async (trx) => {
    const hasher = await tombstoneHasher(trx, config.security, now, true);
    return eraseCustomer(trx, customerId, {
      actor,
      now,
      caps: hdb.caps,
      hasher: hasher!,
      systems: erasableSystems(config.descriptors, config.connectors),
      minimisation: config.governance.minimisation,
      enqueue: (t, jobs) => enqueueJobs(t, jobs, config.jobs.max_attempts, now),
    });
  });
}
