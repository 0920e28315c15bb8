import { Worker } from 'node:worker_threads';
import { HearthError } from '../errors.ts';
import type { ProgressFn } from './csv-stream.ts';
import { emptyOrderFold, type OrderFold } from './orders-reader.ts';
import type { OrdersFormat } from './types.ts';
import { FIELD_SEP, type PackedOrders, type WorkerMessage } from './orders-worker.ts';

export interface OrdersJob {
  result: Promise<OrderFold>;
  cancel: () => Promise<void>;
}

/** Starts folding the orders export in a worker thread; the caller reads the CRM meanwhile. */
export function startOrdersWorker(file: string, format: OrdersFormat, onProgress?: ProgressFn): OrdersJob {
  const worker = new Worker(new URL('./orders-worker.ts', import.meta.url), {
    workerData: { file, format, progress: Boolean(onProgress), auditOrdersWorker: true },
    resourceLimits: { maxYoungGenerationSizeMb: 48 },
  });
  const result = new Promise<OrderFold>((resolve, reject) => {
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') onProgress?.(m.file, m.read, m.total);
      else if (m.type === 'done') resolve(unpackOrders(m.result));
      else reject(m.hearth ? new HearthError('invalid_input', m.message) : new Error(m.message));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`orders worker exited with code ${code}`)));
  });
  result
    .then(
      () => worker.terminate(),
      () => worker.terminate(),
    )
    .catch(() => {});
  return { result, cancel: async () => void (await worker.terminate()) };
}

function unpackOrders(p: PackedOrders): OrderFold {
  const fold = emptyOrderFold();
  Object.assign(fold, { rowsRead: p.rowsRead, orders: p.orders, withoutEmail: p.withoutEmail, badDates: p.badDates });
  for (let k = 0; k < p.emails.length; k++) {
    const [name = '', id = '', address = '', phone = ''] = p.fields[k]!.split(FIELD_SEP);
    fold.latest.set(p.emails[k]!, { name, id, createdAt: p.createdAt[k]!, address, phone });
  }
  return fold;
}
