import { normalizeEmail } from '../canonical/customer.ts';
import { resolveColumns, type ColumnIndex } from './columns.ts';
import { streamCsv, type CsvReadOptions } from './csv-stream.ts';
import { packAddress } from './packed-address.ts';
import { crmAuditFormat, type SystemField } from './system-columns.ts';
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

export interface CrmReadOptions extends CsvReadOptions {
  /** Also keep names and Hearth ids (the three-system audit compares them). */
  people?: boolean | undefined;
}

/** Streams a CRM contacts export into an email-keyed index of compact contacts. */
export async function readCrmContacts(file: string, format: CrmFormat, opts: CrmReadOptions = {}): Promise<CrmIndex> {
  const index = emptyCrmIndex();
  let columns: ColumnIndex<SystemField> = {};
  const specs = opts.people ? crmAuditFormat(format).columns : format.columns;
  index.rowsRead = await streamCsv(
    file,
    (header) => {
      columns = resolveColumns(file, header, specs, `${format.name} contacts export`);
    },
    (row) => addContactRow(index, columns, row),
    opts,
  );
  return index;
}

/** Adds one export row; a row without an email cannot be joined and is only counted. */
export function addContactRow(index: CrmIndex, columns: ColumnIndex<SystemField>, row: readonly string[]): void {
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
  if (columns.hearth_id !== undefined) contact.hearthId = cell(row, columns.hearth_id).trim();
  if (columns.name !== undefined || columns.first_name !== undefined || columns.last_name !== undefined)
    contact.name = personName(row, columns);
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

/** `Name` when the export has it, else first and last name joined. */
export function personName(row: readonly string[], columns: ColumnIndex<SystemField>): string {
  const full = cell(row, columns.name).trim();
  if (full) return full;
  return [cell(row, columns.first_name).trim(), cell(row, columns.last_name).trim()].filter(Boolean).join(' ');
}
