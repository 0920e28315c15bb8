import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import type { DataCipher } from './data-keys.ts';
import { LOOKUP_CHECK_ID } from './key-check.ts';
import { retireUnusedKeys, rotateDataKey } from './rotate.ts';

export interface BackgroundRotation {
  /** Stops after the batch in progress (the next start resumes from there). */
  stop(): Promise<void>;
  /** Settles when the pass finished or was stopped. */
  done: Promise<void>;
}

/**
 * Inside `hearth serve`: when the database still records a check value for a data key other than
 * the current one (an operator switched current_key and no rotation has finished since), re-encrypt
 * in the background, in small batches with a pause between them, then forget the old key's check so
 * it may leave the config. Nothing to do (the usual case) costs one query at start.
 */
export function startBackgroundRotation(
  raw: Kysely<Database>,
  cipher: DataCipher,
  logger: Logger,
  o: { batch?: number; pause_ms?: number } = {},
): BackgroundRotation {
  const abort = new AbortController();
  const done = (async () => {
    const old = await raw
      .selectFrom('data_keys')
      .select('key_id')
      .where('key_id', 'not in', [cipher.currentKeyId, LOOKUP_CHECK_ID])
      .execute();
    if (old.length === 0) return;
    const from = old.map((r) => r.key_id).join(', ');
    logger.info({ from, to: cipher.currentKeyId }, 'data-key rotation started in the background');
    let last = 0;
    const rewritten = await rotateDataKey(raw, cipher, {
      batch: o.batch ?? 200,
      pause_ms: o.pause_ms ?? 20,
      signal: abort.signal,
      onBatch: (p) => {
        // A progress line every 10,000 rows looked at, not every batch.
        if (p.scanned - last < 10_000) return;
        last = p.scanned;
        logger.info({ table: p.table, scanned: p.scanned, rewritten: p.rewritten }, 'data-key rotation progress');
      },
    });
    if (abort.signal.aborted) return;
    const retired = await retireUnusedKeys(raw, cipher);
    logger.info({ rewritten, retired }, 'data-key rotation finished');
  })().catch((err: unknown) =>
    logger.error({ err }, 'data-key rotation failed; hearth keys rotate-data-key resumes it'),
  );
  return {
    done,
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}
