import { normalizeEmail } from '../canonical/customer.ts';
import { resolveColumns, type ColumnIndex } from './columns.ts';
import { cell, personName } from './crm-reader.ts';
import { streamCsv, type CsvReadOptions } from './csv-stream.ts';
import { packAddress } from './packed-address.ts';
import type { SystemField, SystemFormat } from './system-columns.ts';

/** One Stripe customer or Zendesk user, as compact as a CRM contact. */
export interface SystemRecord {
  id: string;
  hearthId: string;
  name: string;
  /** Packed (`packAddress`), or empty when the export has no structured address. */
  address: string;
  /** A one-line address (Zendesk's `address_of_record` user field), else empty. */
  addressLine: string;
  phone: string;
  next: SystemRecord | undefined;
}

export interface SystemIndex {
  /** Records by normalised email; records sharing an email are chained through `next`. */
  byEmail: Map<string, SystemRecord>;
  rowsRead: number;
  records: number;
  withoutEmail: number;
}

/** Streams a Stripe customers or Zendesk users export into an email-keyed index. */
export async function readSystemRecords(
  file: string,
  format: SystemFormat,
  opts: CsvReadOptions = {},
): Promise<SystemIndex> {
  const index: SystemIndex = { byEmail: new Map(), rowsRead: 0, records: 0, withoutEmail: 0 };
  let columns: ColumnIndex<SystemField> = {};
  let structured = false;
  index.rowsRead = await streamCsv(
    file,
    (header) => {
      columns = resolveColumns(file, header, format.columns, `${format.name} export`);
      structured = columns.street !== undefined;
    },
    (row) => addSystemRow(index, columns, structured, row),
    opts,
  );
  return index;
}

function addSystemRow(
  index: SystemIndex,
  columns: ColumnIndex<SystemField>,
  structured: boolean,
  row: readonly string[],
): void {
  const email = normalizeEmail(cell(row, columns.email));
  if (!email) {
    index.withoutEmail++;
    return;
  }
  const record: SystemRecord = {
    id: cell(row, columns.id).trim(),
    hearthId: cell(row, columns.hearth_id).trim(),
    name: personName(row, columns),
    address: structured
      ? packAddress(
          cell(row, columns.street),
          cell(row, columns.street2),
          cell(row, columns.city),
          cell(row, columns.region),
          cell(row, columns.postal_code),
          cell(row, columns.country),
        )
      : '',
    addressLine: cell(row, columns.address_line).trim(),
    phone: cell(row, columns.phone).trim(),
    next: undefined,
  };
  index.records++;
  const first = index.byEmail.get(email);
  if (!first) {
    index.byEmail.set(email, record);
    return;
  }
  let last = first;
  while (last.next) last = last.next;
  last.next = record;
}
