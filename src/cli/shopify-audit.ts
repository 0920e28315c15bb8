import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { stringify } from 'csv-stringify/sync';
import { loadConfig } from '../config/loader.ts';
import { createAdminClient } from '../connectors/shopify/admin.ts';
import {
  bulkRead,
  ORDER_EXPORT_COLUMNS,
  ORDERS_WITH_SHIPPING_QUERY,
  orderExportRow,
} from '../connectors/shopify/bulk.ts';
import type { BulkState } from '../connectors/shopify/bulk.ts';
import { openDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { createStreamStore } from '../flows/stream-inbox.ts';
import { shopifyAdminConfig } from './shopify-orders.ts';

const BULK_STREAM = 'bulk:orders-shipping';

/**
 * `hearth audit --orders-from-shopify`: the store's orders (with shipping addresses) through a
 * GraphQL bulk operation, written as a Shopify orders export to `file`, which the audit then reads
 * like any export (its parallel readers stay as they are). With `--db` the running operation is
 * kept in `connector_cursors`, so an interrupted audit resumes it; without, it starts a new one.
 */
export async function exportShopifyOrders(
  o: { config?: string | undefined; db?: string | undefined; env: Record<string, string | undefined> },
  file: string,
  fetchFn?: typeof fetch,
): Promise<number> {
  const admin = shopifyAdminConfig(loadConfig({ file: o.config, env: o.env }));
  const hdb = o.db ? openDatabase(o.db) : null;
  try {
    let memory: string | null = null;
    let state: BulkState = { load: async () => memory, save: async (id) => void (memory = id) };
    if (hdb) {
      await migrateToLatest(hdb.db);
      const store = createStreamStore(hdb, 'shopify');
      state = {
        load: async () => (await store.load(BULK_STREAM)).position,
        save: async (id) => void (await store.commit(BULK_STREAM, [], { position: id })),
      };
    }
    const out = createWriteStream(file);
    let rows = 0;
    try {
      out.write(stringify([[...ORDER_EXPORT_COLUMNS]]));
      const client = createAdminClient(admin, fetchFn ? { fetch: fetchFn } : {});
      for await (const line of bulkRead(client, ORDERS_WITH_SHIPPING_QUERY, state)) {
        const row = orderExportRow(line);
        if (!row) continue;
        rows++;
        if (!out.write(stringify([row]))) await once(out, 'drain');
      }
    } finally {
      out.end();
      await once(out, 'close');
    }
    return rows;
  } finally {
    await hdb?.close();
  }
}
