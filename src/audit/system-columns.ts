import { optional, type ColumnSpec, type CrmField, type ExportFormat } from '../canonical/export-columns.ts';

/**
 * Columns the three-system audit reads beyond what a connector's descriptor declares for its
 * contacts export: the person's name, the Hearth id Hearth writes into the vendor record, and
 * (Zendesk) the address of record, a user field. They are optional everywhere: an export
 * without them is still joined by email and compared on what it has.
 */
export type SystemField = CrmField | 'name' | 'first_name' | 'last_name' | 'hearth_id' | 'address_line';

export type SystemFormat = ExportFormat<SystemField>;

const NAME_COLUMNS: readonly ColumnSpec<SystemField>[] = [
  optional('first_name', 'First Name', 'FirstName'),
  optional('last_name', 'Last Name', 'LastName'),
];

// Stripe's dashboard export writes metadata as `<key> (metadata)`; the API's spellings are aliases.
const EXTRA: Record<string, readonly ColumnSpec<SystemField>[]> = {
  stripe: [
    optional('name', 'Name'),
    optional('hearth_id', 'hearth_id (metadata)', 'metadata.hearth_id', 'metadata[hearth_id]'),
  ],
  zendesk: [
    optional('name', 'name'),
    optional('hearth_id', 'external_id'),
    optional('address_line', 'address_of_record', 'user_fields.address_of_record', 'address_of_record (user field)'),
  ],
};

/** The CRM export's own columns plus its name columns and an optional `Hearth ID` column. */
export function crmAuditFormat(base: ExportFormat<CrmField>): SystemFormat {
  return {
    name: base.name,
    columns: [...base.columns, ...NAME_COLUMNS, optional('name', 'Full Name', 'Name'), hearthIdColumn()],
  };
}

/** A Stripe or Zendesk contacts export as the audit reads it (descriptor columns + extras). */
export function systemAuditFormat(base: ExportFormat<CrmField>): SystemFormat {
  return { name: base.name, columns: [...base.columns, ...(EXTRA[base.name] ?? [...NAME_COLUMNS, hearthIdColumn()])] };
}

function hearthIdColumn(): ColumnSpec<SystemField> {
  return optional('hearth_id', 'Hearth ID', 'hearth_id');
}
