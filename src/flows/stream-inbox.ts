import type { InboundEvent } from '../canonical/types.ts';
import type { StreamCursor, StreamDeps, StreamStore, StreamSubscriber } from '../connectors/common/stream.ts';
import type { Descriptors } from '../connectors/registry.ts';
import type { HearthDb } from '../db/database.ts';
import { insertEvents } from '../engine/inbox.ts';

/**
 * A connector stream's storage: inbox rows and the stream's position in one transaction (see
 * `StreamStore`). The events then take the same path as webhook deliveries (inbox → apply loop).
 */
export function createStreamStore(hdb: HearthDb, connector: string, now: () => number = Date.now): StreamStore {
  return {
    async load(stream): Promise<StreamCursor> {
      const row = await hdb.db
        .selectFrom('connector_cursors')
        .select(['position', 'repull_pending'])
        .where('connector', '=', connector)
        .where('stream', '=', stream)
        .executeTakeFirst();
      return { position: row?.position ?? null, repull_pending: Number(row?.repull_pending ?? 0) === 1 };
    },
    commit: (stream, events: InboundEvent[], cursor) =>
      hdb.db.transaction().execute(async (trx) => {
        const t = now();
        const out = await insertEvents(trx, connector, events, t);
        const values = {
          position: cursor.position,
          ...(cursor.repull_pending === undefined ? {} : { repull_pending: cursor.repull_pending ? 1 : 0 }),
          updated_at: t,
        };
        await trx
          .insertInto('connector_cursors')
          .values({ connector, stream, repull_pending: 0, ...values })
          .onConflict((oc) => oc.columns(['connector', 'stream']).doUpdateSet(values))
          .execute();
        return { accepted: out.accepted.length, duplicates: out.duplicates };
      }),
  };
}

/** Starts the streams of every configured connector that has some (`streams` in its descriptor). */
export function startStreams(
  descriptors: Descriptors,
  connectors: Record<string, unknown>,
  hdb: HearthDb,
  deps: Omit<StreamDeps, 'store'>,
): StreamSubscriber[] {
  const started: StreamSubscriber[] = [];
  for (const d of descriptors) {
    const cfg = connectors[d.name];
    if (!d.streams || cfg === undefined || cfg === null) continue;
    for (const s of d.streams(cfg, { ...deps, store: createStreamStore(hdb, d.name, deps.now ?? Date.now) })) {
      s.start();
      started.push(s);
    }
  }
  return started;
}
