import type { HearthConfig } from '../config/loader.ts';
import { createAdminClient, type ShopifyAdminConfig } from '../connectors/shopify/admin.ts';
import { bulkOrder, bulkRead, ordersBulkQuery } from '../connectors/shopify/bulk.ts';
import type { HearthDb } from '../db/database.ts';
import { HearthError } from '../errors.ts';
import { createStreamStore } from '../flows/stream-inbox.ts';
import type { ExportedOrder } from '../loyalty/orders-csv.ts';
import { toMinor } from '../loyalty/tiers.ts';

/** The bulk operation a backfill is reading is kept here, so a rerun resumes it. */
const BULK_STREAM = 'bulk:orders';

export interface ShopifyReadOptions {
  since?: string | undefined;
  poll_ms?: number;
  fetch?: typeof fetch;
  onStatus?: (line: string) => void;
}

/** The Admin API block of `connectors.shopify`, or a one-line error naming what is missing. */
export function shopifyAdminConfig(config: HearthConfig): ShopifyAdminConfig {
  const block = config.connectors.shopify as { admin?: ShopifyAdminConfig } | undefined;
  if (!block?.admin)
    throw new HearthError(
      'invalid_input',
      '--from-shopify needs connectors.shopify.admin (shop, access_token) in config',
    );
  return block.admin;
}

/**
 * Every order of the store through a GraphQL bulk operation, as the rows of an orders export
 * (the backfill then treats them alike). Validated as they stream in; a bad order stops the read
 * before anything is written.
 */
export async function readShopifyOrders(
  hdb: HearthDb,
  admin: ShopifyAdminConfig,
  o: ShopifyReadOptions = {},
): Promise<ExportedOrder[]> {
  const query = ordersBulkQuery(o.since);
  const store = createStreamStore(hdb, 'shopify');
  const state = {
    load: async () => (await store.load(BULK_STREAM)).position,
    save: async (id: string | null) => void (await store.commit(BULK_STREAM, [], { position: id })),
  };
  const client = createAdminClient(admin, {
    ...(o.fetch ? { fetch: o.fetch } : {}),
    onThrottle: (ms) => o.onStatus?.(`shopify: cost bucket low, waiting ${ms} ms`),
  });
  const orders: ExportedOrder[] = [];
  const lines = bulkRead(client, query, state, {
    ...(o.poll_ms ? { poll_ms: o.poll_ms } : {}),
    onStatus: (s) => o.onStatus?.(`shopify bulk ${s.id}: ${s.status}${s.resumed ? ' (resumed)' : ''}`),
  });
  for await (const line of lines) {
    const b = bulkOrder(line);
    if (!b) continue;
    const total = toMinor(b.total);
    const created = Date.parse(b.created_at);
    if (total === null || Number.isNaN(created))
      throw new HearthError(
        'invalid_input',
        `shopify order ${b.name}: total "${b.total}" or createdAt "${b.created_at}" unreadable`,
      );
    orders.push({
      name: b.name,
      id: b.id,
      email: b.email,
      currency: b.currency,
      total_minor: total,
      refunded_minor: toMinor(b.refunded) ?? 0,
      created_at: created,
      cancelled: b.cancelled_at !== null,
      line_rows: 1,
      line: orders.length + 1,
    });
  }
  return orders;
}
