import type { InboundEvent } from '../../canonical/types.ts';
import type { Logger } from '../../log.ts';
import type { FetchLike } from './http.ts';

/** Where a connector's stream stopped (`connector_cursors`). */
export interface StreamCursor {
  /** Opaque to everything but the connector (a replay id); null: never started or reset. */
  position: string | null;
  /** A full re-pull is owed (an expired replay id) and has not finished. */
  repull_pending: boolean;
}

/**
 * Durable storage a long-running stream writes through. `commit` stores the events in the inbox
 * and the new position in ONE transaction: after a crash either both are there or neither, so a
 * restart resumes exactly after the last stored event (no gap), and a redelivered event meets
 * the inbox's unique (connector, delivery_id) (no double apply).
 */
export interface StreamStore {
  load(stream: string): Promise<StreamCursor>;
  commit(
    stream: string,
    events: InboundEvent[],
    cursor: { position: string | null; repull_pending?: boolean },
  ): Promise<{ accepted: number; duplicates: number }>;
}

/** What the process hands a connector's streams (`hearth serve` starts them where the workers run). */
export interface StreamDeps {
  store: StreamStore;
  logger: Logger;
  now?: (() => number) | undefined;
  fetch?: FetchLike | undefined;
  /** Events were stored: wake the apply loop. */
  onStored?: (() => void) | undefined;
}

/** A subscription the process keeps open while it runs. */
export interface StreamSubscriber {
  name: string;
  start(): void;
  /** Closes the stream; resolves when no commit is in flight. */
  stop(): Promise<void>;
}
