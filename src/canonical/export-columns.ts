/**
 * Columns of a vendor's CSV export, as the audit and the loyalty backfill read them. Each
 * connector declares its own (`ConnectorDescriptor.exports`); the readers only know these shapes.
 */

/** One logical column: the vendor's export label first (named in errors), then accepted aliases. */
export interface ColumnSpec<F extends string> {
  field: F;
  names: readonly string[];
  required: boolean;
}

export type CrmField =
  | 'id'
  | 'email'
  | 'street'
  | 'street2'
  | 'city'
  | 'region'
  | 'postal_code'
  | 'country'
  | 'phone'
  | 'mobile';
export type OrderField =
  | 'name'
  | 'id'
  | 'email'
  | 'created_at'
  | 'address1'
  | 'address2'
  | 'street'
  | 'city'
  | 'province'
  | 'zip'
  | 'country'
  | 'shipping_phone'
  | 'phone'
  | 'billing_phone';

export const required = <F extends string>(field: F, ...names: string[]): ColumnSpec<F> => ({
  field,
  names,
  required: true,
});
export const optional = <F extends string>(field: F, ...names: string[]): ColumnSpec<F> => ({
  field,
  names,
  required: false,
});

/** A vendor's CSV export format, named after its connector. */
export interface ExportFormat<F extends string> {
  name: string;
  columns: readonly ColumnSpec<F>[];
}
