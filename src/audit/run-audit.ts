import { auditJoin } from './audit-join.ts';
import { readCrmContacts, type CrmIndex } from './crm-reader.ts';
import type { ProgressFn } from './csv-stream.ts';
import { startOrdersWorker } from './orders-parallel.ts';
import { readLatestOrders, type OrderFold } from './orders-reader.ts';
import type { SystemFormat } from './system-columns.ts';
import { systemJoin } from './system-join.ts';
import { readSystemRecords, type SystemIndex } from './system-reader.ts';
import type { AuditReport, CrmFormat, OrdersFormat, SystemFinding, SystemSummary } from './types.ts';

/** An extra system's export (`--stripe`, `--zendesk`). */
export interface SystemExport {
  file: string;
  format: SystemFormat;
}

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
  /** Stripe's and Zendesk's exports, joined to the CRM contacts (one report across the systems). */
  systems?: SystemExport[];
  /** Hearth customer id -> CRM record id, to join records carrying a Hearth id under another email. */
  hearthIds?: Map<string, string>;
}

/** Reads both exports (CRM into an email map, orders streamed to latest-per-customer) and joins. */
export async function runAudit(opts: AuditOptions): Promise<AuditReport> {
  const started = performance.now();
  const asOf = opts.asOf ?? Date.now();
  const { crm, orders, systems } = opts.parallel === false ? await readInTurn(opts) : await readInParallel(opts);
  const join = auditJoin(crm, orders, { asOf, ...(opts.crosswalk ? { crosswalk: opts.crosswalk } : {}) });
  const extra = joinSystems(crm, systems, opts);
  const elapsed = performance.now() - started;
  const rowsRead = crm.rowsRead + orders.rowsRead + systems.reduce((n, s) => n + s.index.rowsRead, 0);
  const report: AuditReport = {
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
  if (extra) {
    report.summary.systems = extra.summaries;
    report.system_findings = extra.findings;
  }
  return report;
}

function joinSystems(
  crm: CrmIndex,
  systems: ReadSystem[],
  opts: AuditOptions,
): { summaries: Record<string, SystemSummary>; findings: SystemFinding[] } | undefined {
  if (systems.length === 0) return undefined;
  const summaries: Record<string, SystemSummary> = {};
  const findings: SystemFinding[] = [];
  for (const { spec, index } of systems) {
    const j = systemJoin(spec.format.name, crm, index, { hearthIds: opts.hearthIds });
    summaries[spec.format.name] = {
      file: spec.file,
      format: spec.format.name,
      rows_read: index.rowsRead,
      records: index.records,
      distinct_emails: index.byEmail.size,
      without_email: index.withoutEmail,
      joined: j.joined,
      joined_by_hearth_id: j.joinedByHearthId,
      counts: j.counts,
    };
    for (const f of j.findings) findings.push(f);
  }
  return { summaries, findings };
}

interface ReadSystem {
  spec: SystemExport;
  index: SystemIndex;
}

/** The extra systems' exports, one after the other (each is small beside the orders export). */
async function readSystems(opts: AuditOptions): Promise<ReadSystem[]> {
  const out: ReadSystem[] = [];
  for (const spec of opts.systems ?? [])
    out.push({ spec, index: await readSystemRecords(spec.file, spec.format, { onProgress: opts.onProgress }) });
  return out;
}

function readCrm(opts: AuditOptions): Promise<CrmIndex> {
  return readCrmContacts(opts.crmFile, opts.crmFormat, {
    onProgress: opts.onProgress,
    people: (opts.systems?.length ?? 0) > 0,
  });
}

interface Inputs {
  crm: CrmIndex;
  orders: OrderFold;
  systems: ReadSystem[];
}

async function readInTurn(opts: AuditOptions): Promise<Inputs> {
  const crm = await readCrm(opts);
  const systems = await readSystems(opts);
  const orders = await readLatestOrders(opts.ordersFile, opts.ordersFormat, { onProgress: opts.onProgress });
  return { crm, orders, systems };
}

/** Two cores: orders in a worker, CRM (then Stripe, Zendesk) here. An error here wins and stops the worker. */
async function readInParallel(opts: AuditOptions): Promise<Inputs> {
  const job = startOrdersWorker(opts.ordersFile, opts.ordersFormat, opts.onProgress);
  job.result.catch(() => {});
  try {
    const crm = await readCrm(opts);
    const systems = await readSystems(opts);
    return { crm, orders: await job.result, systems };
  } catch (err) {
    await job.cancel();
    throw err;
  }
}
