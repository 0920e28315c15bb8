import { HearthError } from '../errors.ts';
import { normalizeEmail } from '../canonical/customer.ts';
import { resolveColumns, type ColumnIndex, type OrderField } from './columns.ts';
import { cell } from './crm-reader.ts';
import { streamCsv, type CsvReadOptions } from './csv-stream.ts';
import { parseOrderDate } from './order-date.ts';
import { packAddress } from './packed-address.ts';
import type { LatestOrder, OrdersFormat } from './types.ts';

/**
 * Folds an orders export (one row per line item; order fields only on an order's first
 * row) into each customer's most recent order. Only the latest order per email is kept.
 */
export interface OrderFold {
  latest: Map<string, LatestOrder>;
  rowsRead: number;
  orders: number;
  withoutEmail: number;
  badDates: number;
  currentName: string;
}

export function emptyOrderFold(): OrderFold {
  return { latest: new Map(), rowsRead: 0, orders: 0, withoutEmail: 0, badDates: 0, currentName: '' };
}

export async function readLatestOrders(
  file: string,
  format: OrdersFormat,
  opts: CsvReadOptions = {},
): Promise<OrderFold> {
  const fold = emptyOrderFold();
  let columns: ColumnIndex<OrderField> = {};
  fold.rowsRead = await streamCsv(
    file,
    (header) => {
      columns = resolveColumns(file, header, format.columns, `${format.name} orders export`);
      if (columns.address1 === undefined && columns.street === undefined)
        throw new HearthError(
          'invalid_input',
          `${file}: missing required column "Shipping Address1" (${format.name} orders export)`,
        );
    },
    (row) => addOrderRow(fold, columns, row),
    opts,
  );
  return fold;
}

/**
 * A row starts a new order when its `Name` differs from the previous row's and it carries order
 * fields; rows without `Created at` and `Email` are further line items.
 */
export function addOrderRow(fold: OrderFold, columns: ColumnIndex<OrderField>, row: readonly string[]): void {
  const name = cell(row, columns.name).trim();
  if (name === fold.currentName && name) return; // another line item of the same order
  const createdRaw = cell(row, columns.created_at).trim();
  const rawEmail = cell(row, columns.email);
  if (!createdRaw && !rawEmail.trim()) return;
  fold.currentName = name;
  fold.orders++;
  const email = normalizeEmail(rawEmail);
  if (!email) {
    fold.withoutEmail++;
    return;
  }
  const createdAt = parseOrderDate(createdRaw);
  if (Number.isNaN(createdAt)) {
    fold.badDates++;
    return;
  }
  const previous = fold.latest.get(email);
  if (previous && previous.createdAt >= createdAt) return;
  fold.latest.set(email, {
    name,
    id: cell(row, columns.id).trim(),
    createdAt,
    address: orderAddress(columns, row),
    phone:
      cell(row, columns.shipping_phone).trim() ||
      cell(row, columns.phone).trim() ||
      cell(row, columns.billing_phone).trim(),
  });
}

function orderAddress(columns: ColumnIndex<OrderField>, row: readonly string[]): string {
  const line1 = columns.address1 !== undefined ? cell(row, columns.address1) : cell(row, columns.street);
  const line2 = columns.address1 !== undefined ? cell(row, columns.address2) : '';
  return packAddress(
    line1,
    line2,
    cell(row, columns.city),
    cell(row, columns.province),
    cell(row, columns.zip),
    cell(row, columns.country),
  );
}
