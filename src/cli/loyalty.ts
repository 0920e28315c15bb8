import { readFile } from 'node:fs/promises';
import { openDatabase } from '../db/database.ts';
import { secureDatabase } from '../crypto/key-check.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { HearthError } from '../errors.ts';
import { auditRedemptions, ledgerRedemptions, redemptionLog, type RedemptionAudit } from '../loyalty/audit.ts';
import { bulkBackfillOrders, runNameOf, type BulkBackfillReport } from '../loyalty/bulk-backfill.ts';
import type { ExportedOrder } from '../loyalty/orders-csv.ts';
import type { LoyaltySettings } from '../loyalty/settings.ts';
import { tierChangeJobs } from '../flows/tiers.ts';
import { enqueueJobs } from '../engine/jobs.ts';
import type { HearthDb } from '../db/database.ts';
import { expirePoints } from '../loyalty/expiry.ts';
import { readOrdersExport } from '../loyalty/orders-csv.ts';
import { loyaltySettings } from '../config/derive.ts';
import { CONFIG_FLAGS, configFrom } from './config-flags.ts';
import { parseFlags, writeLine, type CliIo } from './io.ts';
import { readShopifyOrders, shopifyAdminConfig } from './shopify-orders.ts';
import { ordersBulkQuery } from '../connectors/shopify/bulk.ts';

const HELP = `Usage:
  hearth loyalty backfill --orders ORDERS.csv [--json]
  hearth loyalty backfill --from-shopify [--since YYYY-MM-DD] [--json]
  hearth loyalty audit [--redemptions LOG.csv] [--json]
  hearth loyalty expire [--json]
Common: [--config FILE] [--db URL]

backfill replays a Shopify orders export under the household membership timeline: each order
earns what it would have earned when placed (idempotent: re-running credits nothing twice, and
manual adjustments are never touched), in transactions of 5000 orders with set statements; an
interrupted run resumes after its last committed batch when re-run on the same orders. It
reports the unrecoverable portion (orders with no linkable customer, members whose household
history is unknown) with counts and amounts.
--from-shopify reads the orders from the store (connectors.shopify.admin) with a GraphQL bulk
operation instead of a CSV; a rerun after an interruption resumes the same operation.
audit lists redemptions made against an account outside the redeemer's household at that time,
as a share of all redemptions: from Hearth's ledger, or from an imported log with columns
redeemed_at, redeemer_email|redeemer_id, account_email|account_id, points.
expire writes 'expire' entries for points earned more than loyalty.points_expire_days ago and
not spent since (oldest first; run it daily, e.g. from cron; a second run expires nothing more).`;

export async function loyaltyCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    {
      ...CONFIG_FLAGS,
      orders: { type: 'string' },
      'from-shopify': { type: 'boolean' },
      since: { type: 'string' },
      redemptions: { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  const [sub, ...extra] = positionals;
  if (values.help || !sub) return (writeLine(values.help ? io.stdout : io.stderr, HELP), values.help ? 0 : 2);
  if (extra.length > 0) throw new HearthError('invalid_input', `unexpected argument "${extra[0]}"`);
  if (sub !== 'backfill' && sub !== 'audit' && sub !== 'expire')
    throw new HearthError('invalid_input', `unknown loyalty subcommand "${sub}" (backfill, audit or expire)`);
  const fromShopify = values['from-shopify'] === true;
  if (sub === 'backfill' && !values.orders === !fromShopify)
    throw new HearthError('invalid_input', 'loyalty backfill needs --orders FILE or --from-shopify (one of them)');
  const config = configFrom(values, io);
  if (sub === 'backfill' && fromShopify) return backfillFromShopify(config, values.since, Boolean(values.json), io);
  if (sub === 'expire') return expire(configFrom(values, io), Boolean(values.json), io);
  const input =
    sub === 'backfill'
      ? await readText(values.orders!)
      : values.redemptions
        ? await readText(values.redemptions)
        : null;
  // validated before the database is opened
  const orders = sub === 'backfill' ? readOrdersExport(input!, values.orders) : null;
  const settings = loyaltySettings(config);
  const opened = openDatabase(config.database);
  try {
    await migrateToLatest(opened.db);
    const hdb = await secureDatabase(opened, config.security);
    if (orders) {
      const report = await backfill(hdb, orders, settings);
      writeLine(io.stdout, values.json ? JSON.stringify(report) : backfillText(report));
      return 0;
    }
    const records =
      input === null ? await ledgerRedemptions(hdb.db) : await redemptionLog(hdb.db, input, values.redemptions);
    const audit = await auditRedemptions(hdb.db, records, input === null ? 'ledger' : 'file');
    writeLine(io.stdout, values.json ? JSON.stringify(audit) : auditText(audit));
    return 0;
  } finally {
    await opened.close();
  }
}

async function expire(config: ReturnType<typeof configFrom>, json: boolean, io: CliIo): Promise<number> {
  const settings = loyaltySettings(config);
  const opened = openDatabase(config.database);
  try {
    await migrateToLatest(opened.db);
    const hdb = await secureDatabase(opened, config.security);
    const r = await expirePoints(hdb.db, Date.now(), settings);
    writeLine(
      io.stdout,
      json
        ? JSON.stringify(r)
        : `expired ${r.points_expired} points in ${r.accounts_expired} of ${r.accounts_checked} accounts ` +
            `(earned before ${r.cutoff})`,
    );
    return 0;
  } finally {
    await opened.close();
  }
}

async function backfillFromShopify(
  config: ReturnType<typeof configFrom>,
  since: string | undefined,
  json: boolean,
  io: CliIo,
): Promise<number> {
  const admin = shopifyAdminConfig(config); // before the database is opened
  ordersBulkQuery(since); // --since checked before anything starts
  const opened = openDatabase(config.database);
  try {
    await migrateToLatest(opened.db);
    const hdb = await secureDatabase(opened, config.security);
    const orders = await readShopifyOrders(hdb, admin, { since, onStatus: (l) => writeLine(io.stderr, l) });
    const report = await backfill(hdb, orders, loyaltySettings(config));
    writeLine(io.stdout, json ? JSON.stringify(report) : backfillText(report));
    return 0;
  } finally {
    await opened.close();
  }
}

/**
 * The bulk path (loyalty/bulk-backfill.ts) under the rules of the live one; tier changes queue
 * their webhooks and identity pushes in the transaction that stores them, as the live path does.
 */
function backfill(hdb: HearthDb, orders: ExportedOrder[], s: LoyaltySettings): Promise<BulkBackfillReport> {
  const now = Date.now();
  return bulkBackfillOrders(hdb.db, orders, {
    source: 'shopify',
    now,
    settings: s,
    run: runNameOf(orders, 'shopify'),
    onTierChanges: async (trx, changes) =>
      void (await enqueueJobs(
        trx,
        await tierChangeJobs(trx, changes, now, s, { source: 'backfill' }),
        s.max_attempts,
        now,
      )),
  });
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new HearthError(
      'invalid_input',
      `${file}: cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

const money = (n: number): string => n.toFixed(2);

function backfillText(r: BulkBackfillReport): string {
  const u = r.unrecoverable;
  return [
    `orders: ${r.orders} (${r.line_rows} line rows)` +
      `${r.currencies.length ? `, currency ${r.currencies.join('/')}` : ''}`,
    `credited: ${r.credited.orders} orders, ${money(r.credited.amount)}, ${r.credited.points} points ` +
      `(${r.credited.to_household_pools} to household pools, ${r.credited.to_individuals} to individuals)`,
    `already in the ledger: ${r.already_credited.orders} orders, ${money(r.already_credited.amount)}`,
    `not earning (cancelled or refunded): ${r.not_earning.orders} orders, ${money(r.not_earning.amount)}`,
    `unrecoverable: ${u.total.orders} orders, ${money(u.total.amount)} ` +
      `(${(u.share_of_amount * 100).toFixed(1)}% of the earning amount)`,
    `  no linkable customer: ${u.no_linkable_customer.orders} orders, ${money(u.no_linkable_customer.amount)}`,
    `  household history unknown: ${u.household_history_unknown.orders} orders, ` +
      `${money(u.household_history_unknown.amount)}`,
    `tier changes: ${r.tier_changes}`,
    ...(r.resumed_after > 0 ? [`resumed after ${r.resumed_after} orders an interrupted run had committed`] : []),
  ].join('\n');
}

function auditText(a: RedemptionAudit): string {
  const lines = [
    `redemptions (${a.source}): ${a.redemptions}, judged ${a.judged}, unknown redeemer or account ${a.unknown}`,
    `outside the redeemer's household: ${a.outside_household} (${(a.share * 100).toFixed(1)}%), ` +
      `${a.points_outside} of ${a.points} points`,
    `judged by the CRM's household (older than the household history): ${a.judged_by_crm_household}, ` +
      `household unknown (no household ever pulled): ${a.household_unknown}`,
  ];
  for (const f of a.findings)
    lines.push(
      `  ${f.ref}\t${f.at}\tredeemer ${f.redeemer_id} (household ${f.redeemer_household_id ?? 'none'})` +
        `\taccount ${f.account_id}\t${f.points} points`,
    );
  return lines.join('\n');
}
