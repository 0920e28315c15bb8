import { HearthError } from '../errors.ts';
import type { CrmFormat } from './types.ts';

/** One logical column: the vendor's export label first (named in errors), then accepted aliases. */
export interface ColumnSpec<F extends string> {
  field: F;
  names: readonly string[];
  required: boolean;
}

export type CrmField = 'id' | 'email' | 'street' | 'street2' | 'city' | 'region' | 'postal_code' | 'country' | 'phone' | 'mobile';
export type OrderField = 'name' | 'id' | 'email' | 'created_at' | 'address1' | 'address2' | 'street' | 'city' | 'province' | 'zip' | 'country' | 'shipping_phone' | 'phone' | 'billing_phone';

const req = <F extends string>(field: F, ...names: string[]): ColumnSpec<F> => ({ field, names, required: true });
const opt = <F extends string>(field: F, ...names: string[]): ColumnSpec<F> => ({ field, names, required: false });

/**
 * Contacts-export columns per CRM. HubSpot exports use property labels (internal names accepted
 * too); Salesforce exports use API names (Data Loader) or labels (reports); Zoho uses labels
 * (API names accepted).
 */
export const CRM_COLUMNS: Record<CrmFormat, readonly ColumnSpec<CrmField>[]> = {
  hubspot: [
    req('id', 'Record ID', 'hs_object_id', 'Contact ID'),
    req('email', 'Email', 'email'),
    req('street', 'Street Address', 'address'),
    req('city', 'City', 'city'),
    req('postal_code', 'Postal Code', 'zip'),
    opt('region', 'State/Region', 'state', 'State/Region Code', 'hs_state_code'),
    opt('country', 'Country/Region', 'country', 'Country/Region Code', 'hs_country_region_code'),
    opt('phone', 'Phone Number', 'phone'),
    opt('mobile', 'Mobile Phone Number', 'mobilephone'),
  ],
  salesforce: [
    req('id', 'Id', 'Contact ID', 'Contact Id'),
    req('email', 'Email'),
    req('street', 'MailingStreet', 'Mailing Street'),
    req('city', 'MailingCity', 'Mailing City'),
    req('postal_code', 'MailingPostalCode', 'Mailing Zip/Postal Code', 'Mailing Postal Code'),
    opt('region', 'MailingState', 'Mailing State/Province', 'MailingStateCode', 'Mailing State/Province Code'),
    opt('country', 'MailingCountry', 'Mailing Country', 'MailingCountryCode', 'Mailing Country Code'),
    opt('phone', 'Phone', 'HomePhone', 'Home Phone'),
    opt('mobile', 'MobilePhone', 'Mobile', 'Mobile Phone'),
  ],
  zoho: [
    req('id', 'Record Id', 'Id', 'Contact Id'),
    req('email', 'Email'),
    req('street', 'Mailing Street', 'Mailing_Street'),
    req('city', 'Mailing City', 'Mailing_City'),
    req('postal_code', 'Mailing Zip', 'Mailing_Zip'),
    opt('region', 'Mailing State', 'Mailing_State'),
    opt('country', 'Mailing Country', 'Mailing_Country'),
    opt('phone', 'Phone', 'Home Phone', 'Home_Phone'),
    opt('mobile', 'Mobile'),
  ],
};

/**
 * Shopify orders export. `Shipping Street` (Address1 + Address2 combined) stands in for
 * `Shipping Address1` in exports that only have the combined column.
 */
export const SHOPIFY_ORDER_COLUMNS: readonly ColumnSpec<OrderField>[] = [
  req('name', 'Name'),
  req('email', 'Email'),
  req('created_at', 'Created at'),
  req('city', 'Shipping City'),
  req('zip', 'Shipping Zip'),
  opt('address1', 'Shipping Address1'),
  opt('street', 'Shipping Street'),
  opt('address2', 'Shipping Address2'),
  opt('province', 'Shipping Province', 'Shipping Province Name'),
  opt('country', 'Shipping Country'),
  opt('shipping_phone', 'Shipping Phone'),
  opt('phone', 'Phone'),
  opt('billing_phone', 'Billing Phone'),
  opt('id', 'Id'),
];

/** Header names compare without case, spaces or punctuation: `Mailing_Street` = `Mailing Street`. */
export function headerKey(name: string): string {
  return name.replace(/^\uFEFF/, '').toLowerCase().replace(/[^a-z0-9]/g, '');
}

export type ColumnIndex<F extends string> = Partial<Record<F, number>>;

/** Where each logical column sits in this file's header; throws naming the first missing one. */
export function resolveColumns<F extends string>(file: string, header: readonly string[], specs: readonly ColumnSpec<F>[], what: string): ColumnIndex<F> {
  const positions = new Map<string, number>();
  header.forEach((h, i) => {
    const key = headerKey(h);
    if (!positions.has(key)) positions.set(key, i);
  });
  const index: ColumnIndex<F> = {};
  for (const spec of specs) {
    const at = spec.names.map((n) => positions.get(headerKey(n))).find((i) => i !== undefined);
    if (at !== undefined) index[spec.field] = at;
    else if (spec.required) throw new HearthError('invalid_input', `${file}: missing required column "${spec.names[0]}" (${what})`);
  }
  return index;
}
