import { constants } from 'node:fs';
import { access, open, rename, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { contactsExport, CONNECTORS, exportNames, ordersExport } from '../connectors/registry.ts';
import { HearthError, isHearthError } from '../errors.ts';
import type { CliIo } from './io.ts';
import { exportShopifyOrders } from './shopify-audit.ts';
import type { ProgressFn } from '../audit/csv-stream.ts';
import { loadCrosswalk, loadHearthIds } from '../audit/crosswalk.ts';
import { loadConfig } from '../config/loader.ts';
import { renderHtmlReport } from '../audit/report-html.ts';
import { writeJsonReport } from '../audit/report-json.ts';
import { runAudit, type SystemExport } from '../audit/run-audit.ts';
import { systemAuditFormat } from '../audit/system-columns.ts';
import {
  FINDING_KINDS,
  SYSTEM_FINDING_KINDS,
  type AuditReport,
  type CrmFormat,
  type OrdersFormat,
} from '../audit/types.ts';

export interface AuditIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  isTTY: boolean;
}

const CRM_FORMATS = exportNames(CONNECTORS, 'contacts');
const ORDER_FORMATS = exportNames(CONNECTORS, 'orders');

const HELP =
  `Usage: hearth audit --crm FILE --crm-format ${CRM_FORMATS.join('|')} --orders FILE ` +
  `[--orders-format ${ORDER_FORMATS.join('|')}] [--stripe FILE] [--zendesk FILE] [options]

Cross-system drift audit from plain exports: joins CRM contacts and Shopify orders by normalised
email, takes each customer's most recent order, and compares its shipping address (as a delivery
point: "Apt 4B" = "Apartment 4-B", "Street" = "St", ZIP+4 = ZIP5) and phone (as E.164) with the CRM.

Finding kinds: ${FINDING_KINDS.join(', ')}
(format_only = same delivery point or number spelled differently: counted, never drift).

Options:
  --crm FILE             CRM contacts export (CSV; BOM, quoting, column order, extra columns are fine)
  --crm-format F         hubspot (Record ID, Email, Street Address, City, Postal Code, ...),
                         salesforce (Id, Email, MailingStreet, MailingCity, MailingPostalCode, ...),
                         zoho (Record Id, Email, Mailing Street, Mailing City, Mailing Zip, ...)
  --orders FILE          Shopify orders export (one row per line item)
  --orders-from-shopify  read the orders from the store instead (connectors.shopify.admin in
                         --config FILE; a GraphQL bulk operation, resumed when --db is given)
  --config FILE          Hearth config (for --orders-from-shopify)
  --orders-format F      ${ORDER_FORMATS.join(', ')} (default ${ORDER_FORMATS[0]})
  --stripe FILE          Stripe customers export (Dashboard → Customers → Export: Email; optional id,
                         Name, Phone, Shipping Address Line1/Line2/City/State/Postal Code/Country,
                         hearth_id (metadata))
  --zendesk FILE         Zendesk users export (CSV: email; optional id, name, phone, external_id,
                         address_of_record)
                         Both are joined to the CRM contacts by email (else by Hearth id, with a
                         Hearth ID CRM column or --db) and compared on address, phone and name;
                         kinds per system: ${SYSTEM_FINDING_KINDS.slice(0, 3).join(', ')},
                         ${SYSTEM_FINDING_KINDS.slice(3).join(', ')}
  --out FILE             write the report: .html (self-contained page with charts) or JSON
                         ({"summary": ..., "findings": [...]}, then "system_findings" with
                         --stripe/--zendesk); written to a temporary file and
                         renamed when complete
  --as-of DATE           measure stale-address ages up to DATE (ISO-8601; default now)
  --db URL               also join through Hearth's crosswalk (sqlite:PATH or postgres://...): an
                         order under another email of a customer Hearth links to a CRM record is
                         compared with that record instead of counting as missing_in_crm
  --json                 print the summary as JSON on stdout (the whole report when no --out)
  --help                 show this help

Exit status: 0 when the audit ran (whatever it found), 2 on bad input, 1 on an internal error.
`;

const OPTIONS = {
  crm: { type: 'string' },
  'crm-format': { type: 'string' },
  orders: { type: 'string' },
  'orders-from-shopify': { type: 'boolean' },
  config: { type: 'string' },
  'orders-format': { type: 'string' },
  stripe: { type: 'string' },
  zendesk: { type: 'string' },
  out: { type: 'string' },
  'as-of': { type: 'string' },
  db: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

interface Options {
  crmFile: string;
  crmFormat: CrmFormat;
  ordersFile: string;
  ordersFormat: OrdersFormat;
  systems: SystemExport[];
  out: string | undefined;
  asOf: number | undefined;
  json: boolean;
  db: string | undefined;
  fromShopify: boolean;
  config: string | undefined;
}

/** `hearth audit`: exit 0 on success, 2 on bad input (one line on stderr, no report file). */
export async function runAuditCommand(argv: string[], io: AuditIo): Promise<number> {
  const temp = { path: undefined as string | undefined };
  try {
    const opts = parseFlags(argv);
    if (opts === 'help') {
      io.stdout.write(HELP);
      return 0;
    }
    await execute(opts, io, temp);
    return 0;
  } catch (err) {
    if (temp.path) await unlink(temp.path).catch(() => {});
    if (io.isTTY) io.stderr.write('\r\x1b[K');
    io.stderr.write(`hearth audit: ${(err as Error).message.split('\n')[0]}\n`);
    return isHearthError(err) && err.code !== 'internal' ? 2 : 1;
  }
}

/** Runs the audit, writes the report through a temporary file (tracked in `temp` for cleanup). */
async function execute(opts: Options, io: AuditIo, temp: { path: string | undefined }): Promise<void> {
  if (opts.out) await assertWritable(opts.out);
  if (opts.fromShopify) {
    const file = join(tmpdir(), `hearth-shopify-orders-${process.pid}-${Date.now()}.csv`);
    try {
      await exportShopifyOrders({ config: opts.config, db: opts.db, env: process.env }, file);
      return await execute({ ...opts, fromShopify: false, ordersFile: file }, io, temp);
    } finally {
      await unlink(file).catch(() => {});
    }
  }
  // With --config, the data keys read the crosswalk's encrypted source snapshots (encryption at rest).
  const security = opts.db && opts.config ? loadConfig({ file: opts.config, env: process.env }).security : undefined;
  const crosswalk = opts.db ? await loadCrosswalk(opts.db, opts.crmFormat.name, security) : undefined;
  const hearthIds = opts.db && opts.systems.length > 0 ? await loadHearthIds(opts.db, opts.crmFormat.name) : undefined;
  const report = await runAudit({
    crmFile: opts.crmFile,
    crmFormat: opts.crmFormat,
    ordersFile: opts.ordersFile,
    ordersFormat: opts.ordersFormat,
    ...(crosswalk ? { crosswalk } : {}),
    ...(opts.systems.length > 0 ? { systems: opts.systems } : {}),
    ...(hearthIds ? { hearthIds } : {}),
    ...(opts.asOf !== undefined ? { asOf: opts.asOf } : {}),
    ...(io.isTTY ? { onProgress: progressBar(io.stderr) } : {}),
  });
  if (io.isTTY) io.stderr.write('\r\x1b[K');
  if (opts.out) {
    temp.path = `${opts.out}.${process.pid}.tmp`;
    await writeReport(temp.path, opts.out, report);
    await rename(temp.path, opts.out).catch((err: NodeJS.ErrnoException) => {
      throw invalid(`${opts.out}: cannot write report (${err.code ?? err.message})`);
    });
    temp.path = undefined;
  }
  if (opts.json) io.stdout.write(`${JSON.stringify(opts.out ? report.summary : report)}\n`);
  else io.stdout.write(formatSummary(report, opts.out));
}

function invalid(message: string): HearthError {
  return new HearthError('invalid_input', message);
}

function parseFlags(argv: string[]): Options | 'help' {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false, strict: true }));
  } catch (err) {
    throw invalid((err as Error).message.split('\n')[0]!);
  }
  if (values.help) return 'help';
  if (!values.crm) throw invalid('--crm FILE is required (see --help)');
  const fromShopify = values['orders-from-shopify'] === true;
  if (!values.orders && !fromShopify) throw invalid('--orders FILE is required (see --help)');
  if (values.orders && fromShopify) throw invalid('--orders FILE and --orders-from-shopify: give one, not both');
  const format = values['crm-format'];
  if (!format || !CRM_FORMATS.includes(format)) throw invalid(`--crm-format must be one of ${CRM_FORMATS.join(', ')}`);
  const ordersFormat = values['orders-format'] ?? ORDER_FORMATS[0]!;
  if (!ORDER_FORMATS.includes(ordersFormat))
    throw invalid(`--orders-format must be one of ${ORDER_FORMATS.join(', ')}`);
  return {
    crmFile: values.crm,
    crmFormat: contactsExport(CONNECTORS, format),
    ordersFile: values.orders ?? '',
    ordersFormat: ordersExport(CONNECTORS, ordersFormat),
    systems: (['stripe', 'zendesk'] as const).flatMap((name) => {
      const file = values[name];
      return file ? [{ file, format: systemAuditFormat(contactsExport(CONNECTORS, name)) }] : [];
    }),
    out: values.out,
    asOf: parseAsOf(values['as-of']),
    json: values.json ?? false,
    db: values.db,
    fromShopify,
    config: values.config,
  };
}

function parseAsOf(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw invalid(`--as-of ${raw}: expected an ISO-8601 date`);
  return t;
}

/** Checked before the audit runs, so a typo in --out does not cost a full pass over the exports. */
async function assertWritable(out: string): Promise<void> {
  await access(dirname(resolve(out)), constants.W_OK).catch((err: NodeJS.ErrnoException) => {
    throw invalid(
      `${out}: cannot write report (${err.code === 'ENOENT' ? 'no such directory' : (err.code ?? err.message)})`,
    );
  });
}

export function isHtmlPath(path: string): boolean {
  return /\.html?$/i.test(path);
}

async function writeReport(temp: string, out: string, report: AuditReport): Promise<void> {
  const handle = await open(temp, 'w').catch((err: NodeJS.ErrnoException) => {
    throw invalid(`${out}: cannot write report (${err.code ?? err.message})`);
  });
  try {
    if (isHtmlPath(out)) await handle.write(renderHtmlReport(report));
    else await writeJsonReport(handle, report);
  } finally {
    await handle.close();
  }
}

function formatSummary(report: AuditReport, out: string | undefined): string {
  const s = report.summary;
  const counts = FINDING_KINDS.map((k) => `${k} ${s.counts[k]}`).join(', ');
  const lines = [
    `read ${s.crm.rows_read} CRM rows and ${s.orders.rows_read} order rows in ${s.elapsed_ms} ms ` +
      `(${s.rows_per_second} rows/s); ${s.joined_customers} customers in both`,
    counts,
    `address drift ${(s.drift_rate.address.rate * 100).toFixed(2)}% of ${s.drift_rate.address.compared}, ` +
      `phone drift ${(s.drift_rate.phone.rate * 100).toFixed(2)}% of ${s.drift_rate.phone.compared}`,
  ];
  for (const [name, sys] of Object.entries(s.systems ?? {}))
    lines.push(
      `${name}: read ${sys.rows_read} rows, ${sys.joined} CRM contacts joined; ` +
        SYSTEM_FINDING_KINDS.map((k) => `${k} ${sys.counts[k]}`).join(', '),
    );
  if (out) lines.push(`report written to ${out}`);
  return `${lines.join('\n')}\n`;
}

/** One bar over every export (CRM and orders are read at the same time), by bytes read. */
function progressBar(stream: NodeJS.WritableStream): ProgressFn {
  const files = new Map<string, { read: number; total: number }>();
  return (file, read, total) => {
    files.set(file, { read, total });
    let done = 0;
    let all = 0;
    for (const f of files.values()) {
      done += f.read;
      all += f.total;
    }
    const share = all === 0 ? 1 : Math.min(1, done / all);
    const filled = Math.round(share * 30);
    stream.write(
      `\r\x1b[K[${'#'.repeat(filled)}${' '.repeat(30 - filled)}] ${Math.round(share * 100)}% ` +
        `reading ${[...files.keys()].join(' + ')}`,
    );
  };
}

/** `hearth audit` with the process's IO. */
export function auditCommand(argv: string[], io: CliIo): Promise<number> {
  return runAuditCommand(argv, { stdout: io.stdout, stderr: io.stderr, isTTY: io.isTTY });
}
