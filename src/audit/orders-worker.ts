import { parentPort, workerData } from 'node:worker_threads';
import { isHearthError } from '../errors.ts';
import { readLatestOrders, type OrderFold } from './orders-reader.ts';
import type { OrdersFormat } from './types.ts';

/**
 * Worker side of `readLatestOrdersInWorker`: folds the orders export on a second core while the
 * main thread reads the CRM export, then posts the latest orders back in a flat form (one string
 * per order and one Float64Array of dates) that is cheap to copy between threads.
 */
export interface PackedOrders {
  emails: string[];
  fields: string[];
  createdAt: Float64Array;
  rowsRead: number;
  orders: number;
  withoutEmail: number;
  badDates: number;
}

export type WorkerMessage =
  | { type: 'progress'; file: string; read: number; total: number }
  | { type: 'done'; result: PackedOrders }
  | { type: 'error'; message: string; hearth: boolean };

export const FIELD_SEP = '\u001e';

export function packOrders(fold: OrderFold): PackedOrders {
  const emails: string[] = [];
  const fields: string[] = [];
  const createdAt = new Float64Array(fold.latest.size);
  let k = 0;
  for (const [email, o] of fold.latest) {
    emails.push(email);
    fields.push([o.name, o.id, o.address, o.phone].join(FIELD_SEP));
    createdAt[k++] = o.createdAt;
  }
  return {
    emails,
    fields,
    createdAt,
    rowsRead: fold.rowsRead,
    orders: fold.orders,
    withoutEmail: fold.withoutEmail,
    badDates: fold.badDates,
  };
}

async function work(): Promise<void> {
  const { file, progress, format } = workerData as { file: string; progress: boolean; format: OrdersFormat };
  try {
    const onProgress = (f: string, read: number, total: number): void =>
      parentPort!.postMessage({ type: 'progress', file: f, read, total } satisfies WorkerMessage);
    const fold = await readLatestOrders(file, format, progress ? { onProgress } : {});
    const result = packOrders(fold);
    parentPort!.postMessage({ type: 'done', result } satisfies WorkerMessage, [result.createdAt.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort!.postMessage({
      type: 'error',
      message: (err as Error).message,
      hearth: isHearthError(err),
    } satisfies WorkerMessage);
  }
}

if (parentPort && (workerData as { auditOrdersWorker?: boolean } | undefined)?.auditOrdersWorker) void work();
