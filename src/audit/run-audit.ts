import { auditJoin } from './audit-join.ts';
import { readCrmContacts, type CrmIndex } from './crm-reader.ts';
import type { ProgressFn } from './csv-stream.ts';
import { startOrdersWorker } from './orders-parallel.ts';
import { readLatestOrders, type OrderFold } from './orders-reader.ts';
import type { AuditReport, CrmFormat, OrdersFormat } from './types.ts';

export interface AuditOptions {
  crmFile: string;
  crmFormat: CrmFormat;
  ordersFile: string;
  ordersFormat: OrdersFormat;
  /** Epoch ms the ages of stale addresses are measured to (default: now). */
  asOf?: number;
  onProgress?: ProgressFn;
  /** Fold the orders export in a worker thread while the CRM export is read (default true). */
  parallel?: boolean;
  /** Hearth's crosswalk (order email -> CRM record id) to join people the CRM knows by another email. */
  crosswalk?: Map<string, string>;
}

/** Reads both exports (CRM into an email map, orders streamed to latest-per-customer) and joins. */
export async function runAudit(opts: AuditOptions): Promise<AuditReport> {
  const started = performance.now();
  const asOf = opts.asOf ?? Date.now();
  const { crm, orders } = opts.parallel === false ? await readInTurn(opts) : await readInParallel(opts);
  const join = auditJoin(crm, orders, { asOf, ...(opts.crosswalk ? { crosswalk: opts.crosswalk } : {}) });
  const elapsed = performance.now() - started;
  const rowsRead = crm.rowsRead + orders.rowsRead;
  return {
    summary: {
      crm: {
        file: opts.crmFile,
        format: opts.crmFormat.name,
        rows_read: crm.rowsRead,
        contacts: crm.contacts,
        distinct_emails: crm.byEmail.size,
        without_email: crm.withoutEmail,
      },
      orders: {
        file: opts.ordersFile,
        format: opts.ordersFormat.name,
        rows_read: orders.rowsRead,
        orders: orders.orders,
        customers: orders.latest.size,
        without_email: orders.withoutEmail,
        bad_dates: orders.badDates,
      },
      rows_read: rowsRead,
      joined_customers: join.joinedCustomers,
      joined_by_crosswalk: join.joinedByCrosswalk,
      counts: join.counts,
      drift_rate: join.drift,
      as_of: new Date(asOf).toISOString(),
      elapsed_ms: Math.round(elapsed),
      rows_per_second: elapsed > 0 ? Math.round(rowsRead / (elapsed / 1000)) : 0,
    },
    findings: join.findings,
  };
}

interface Inputs {
  crm: CrmIndex;
  orders: OrderFold;
}

async function readInTurn(opts: AuditOptions): Promise<Inputs> {
  const crm = await readCrmContacts(opts.crmFile, opts.crmFormat, { onProgress: opts.onProgress });
  return { crm, orders: await readLatestOrders(opts.ordersFile, opts.ordersFormat, { onProgress: opts.onProgress }) };
}

/** Two cores: orders in a worker, CRM here. A CRM error wins and stops the worker. */
async function readInParallel(opts: AuditOptions): Promise<Inputs> {
  const job = startOrdersWorker(opts.ordersFile, opts.ordersFormat, opts.onProgress);
  job.result.catch(() => {});
  try {
    const crm = await readCrmContacts(opts.crmFile, opts.crmFormat, { onProgress: opts.onProgress });
    return { crm, orders: await job.result };
  } catch (err) {
    await job.cancel();
    throw err;
  }
}
