import { normalizeEmail } from '../canonical/customer.ts';
import { resolveColumns, type ColumnIndex, type CrmField } from './columns.ts';
import { streamCsv, type CsvReadOptions } from './csv-stream.ts';
import { packAddress } from './packed-address.ts';
import type { CrmContact, CrmFormat } from './types.ts';

export interface CrmIndex {
  /** Contacts by normalised email; contacts sharing an email are chained through `next`. */
  byEmail: Map<string, CrmContact>;
  rowsRead: number;
  contacts: number;
  withoutEmail: number;
}

export function emptyCrmIndex(): CrmIndex {
  return { byEmail: new Map(), rowsRead: 0, contacts: 0, withoutEmail: 0 };
}

/** Streams a CRM contacts export into an email-keyed index of compact contacts. */
export async function readCrmContacts(file: string, format: CrmFormat, opts: CsvReadOptions = {}): Promise<CrmIndex> {
  const index = emptyCrmIndex();
  let columns: ColumnIndex<CrmField> = {};
  index.rowsRead = await streamCsv(
    file,
    (header) => {
      columns = resolveColumns(file, header, format.columns, `${format.name} contacts export`);
    },
    (row) => addContactRow(index, columns, row),
    opts,
  );
  return index;
}

/** Adds one export row; a row without an email cannot be joined and is only counted. */
export function addContactRow(index: CrmIndex, columns: ColumnIndex<CrmField>, row: readonly string[]): void {
  const email = normalizeEmail(cell(row, columns.email));
  if (!email) {
    index.withoutEmail++;
    return;
  }
  const contact: CrmContact = {
    id: cell(row, columns.id).trim(),
    address: packAddress(
      cell(row, columns.street),
      cell(row, columns.street2),
      cell(row, columns.city),
      cell(row, columns.region),
      cell(row, columns.postal_code),
      cell(row, columns.country),
    ),
    phone: cell(row, columns.phone).trim() || cell(row, columns.mobile).trim(),
    next: undefined,
  };
  index.contacts++;
  const first = index.byEmail.get(email);
  if (!first) {
    index.byEmail.set(email, contact);
    return;
  }
  let last = first;
  while (last.next) last = last.next;
  last.next = contact;
}

export function cell(row: readonly string[], at: number | undefined): string {
  return at === undefined ? '' : (row[at] ?? '');
}
