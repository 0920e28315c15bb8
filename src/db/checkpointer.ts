import { Worker } from 'node:worker_threads';

export interface CheckpointResult {
  /** Frames in the WAL and how many of them are now in the database file. */
  log: number;
  checkpointed: number;
}

export interface Checkpointer {
  /** Checkpoints now (PASSIVE), in the worker thread. */
  checkpoint(): Promise<CheckpointResult>;
  stop(): Promise<void>;
}

/**
 * SQLite's automatic checkpoint runs inside the commit that crosses the WAL's page threshold: at
 * `synchronous = NORMAL` it fsyncs the WAL and the database file there, stalling the event loop
 * for several milliseconds every few dozen webhooks (most of a busy server's lag p99). Instead
 * the main connection's threshold is raised (a safety net if this thread falls behind) and a
 * worker thread with its own connection checkpoints every `intervalMs`.
 */
export function startCheckpointer(path: string, intervalMs: number, onError: (err: Error) => void): Checkpointer {
  const worker = new Worker(new URL('./checkpoint-worker.ts', import.meta.url), { workerData: { path } });
  worker.unref();
  const waiting: ((r: { ok: boolean; error?: string } & CheckpointResult) => void)[] = [];
  worker.on('message', (m) => waiting.shift()?.(m));
  worker.on('error', onError);
  let chain: Promise<unknown> = Promise.resolve();
  const checkpoint = (): Promise<CheckpointResult> => {
    // One request at a time: answers come back in order.
    const next = chain.then(
      () =>
        new Promise<CheckpointResult>((resolve, reject) => {
          waiting.push((m) =>
            m.ok ? resolve({ log: m.log, checkpointed: m.checkpointed }) : reject(new Error(m.error)),
          );
          worker.postMessage('PASSIVE');
        }),
    );
    chain = next.catch(() => {});
    return next;
  };
  const timer = setInterval(() => checkpoint().catch(onError), intervalMs);
  timer.unref();
  return {
    checkpoint,
    stop: async () => {
      clearInterval(timer);
      await chain;
      await worker.terminate();
    },
  };
}
