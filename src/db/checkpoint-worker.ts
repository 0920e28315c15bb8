import SqliteDatabase from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * Runs in a worker thread: its own connection to the SQLite file copies committed WAL pages back
 * into the database (PASSIVE: never waits for, nor blocks, the writer) each time the main thread
 * asks, so the fsyncs of a checkpoint happen here and not inside a commit on the event loop.
 */
const { path } = workerData as { path: string };
const db = new SqliteDatabase(path);
db.pragma('busy_timeout = 5000');
parentPort!.on('message', (mode: 'PASSIVE' | 'TRUNCATE') => {
  try {
    const [row] = db.pragma(`wal_checkpoint(${mode})`) as { busy: number; log: number; checkpointed: number }[];
    parentPort!.postMessage({ ok: true, ...row });
  } catch (err) {
    parentPort!.postMessage({ ok: false, error: (err as Error).message });
  }
});
