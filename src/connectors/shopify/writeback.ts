import { sameDeliveryPoint } from '../../address/index.ts';
import type { PostalAddress } from '../../address/types.ts';
import type { DeliveryResult, OutboundJob, ProfileProjectPayload } from '../../canonical/types.ts';
import { HearthError } from '../../errors.ts';
import type { AdminClient } from './admin.ts';

// Shopify as a write-back target for the customer's default address: Shopify receives the
// customer view (`profile.project`) after each canonical change and, when the address it holds
// as the default is another delivery point, updates that address (or creates one as the default).
// Only the address is written; names, email and phone stay Shopify's.

interface ShopifyMailing {
  id: string;
  address1: string | null;
  address2: string | null;
  city: string | null;
  provinceCode: string | null;
  zip: string | null;
  countryCodeV2: string | null;
}

interface ShopifyCustomerNode {
  id: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  phone: string | null;
  defaultAddress: ShopifyMailing | null;
}

const CUSTOMER_FIELDS = `id email firstName lastName phone
  defaultAddress { id address1 address2 city provinceCode zip countryCodeV2 }`;
const BY_ID = `query customer($id: ID!) { customer(id: $id) { ${CUSTOMER_FIELDS} } }`;
const BY_EMAIL = `query customerByEmail($q: String!) {
  customers(first: 1, query: $q) { nodes { ${CUSTOMER_FIELDS} } } }`;
const UPDATE = `mutation update($customerId: ID!, $addressId: ID!, $address: MailingAddressInput!) {
  customerAddressUpdate(customerId: $customerId, addressId: $addressId, address: $address, setAsDefault: true) {
    address { id } userErrors { field message } } }`;
const CREATE = `mutation create($customerId: ID!, $address: MailingAddressInput!) {
  customerAddressCreate(customerId: $customerId, address: $address, setAsDefault: true) {
    address { id } userErrors { field message } } }`;

const gid = (id: string) => (id.startsWith('gid://') ? id : `gid://shopify/Customer/${id}`);
const numeric = (id: string) => id.replace(/^gid:\/\/shopify\/Customer\//, '');

/**
 * The values a `customers/update` webhook reports for a customer (`parseShopify` vendor_fields):
 * what echo suppression compares. After an address write, these are what Shopify then holds.
 */
export function shopifyVendorFields(
  c: { first_name: string | null; last_name: string | null; email: string | null; phone: string | null },
  a: PostalAddress | null,
): Record<string, string | null> {
  return {
    first_name: c.first_name,
    last_name: c.last_name,
    email: c.email,
    phone: c.phone,
    ...(a
      ? {
          'default_address.address1': a.line1 || null,
          'default_address.address2': a.line2 ?? null,
          'default_address.city': a.city ?? null,
          'default_address.province_code': a.region ?? null,
          'default_address.zip': a.postal_code ?? null,
          'default_address.country_code': a.country ?? null,
        }
      : {}),
  };
}

/** What the job will write, for echo fingerprints before the call (the address part only). */
export function addressExpectedWrite(
  job: OutboundJob,
): { external_id: string; written: Record<string, string | null> } | null {
  const p = job.payload as ProfileProjectPayload;
  if (!p.external_id || !p.address) return null;
  const {
    first_name: _f,
    last_name: _l,
    email: _e,
    phone: _p,
    ...address
  } = shopifyVendorFields({ first_name: null, last_name: null, email: null, phone: null }, p.address);
  return { external_id: numeric(p.external_id), written: address };
}

export async function deliverAddresses(admin: AdminClient, jobs: OutboundJob[]): Promise<DeliveryResult[]> {
  const out: DeliveryResult[] = [];
  for (const job of jobs) out.push(await deliverOne(admin, job.payload as ProfileProjectPayload));
  return out;
}

async function deliverOne(admin: AdminClient, p: ProfileProjectPayload): Promise<DeliveryResult> {
  // No address in the canonical record: nothing for Shopify's default address.
  if (!p.address?.line1) return { ok: true, unchanged: {} };
  try {
    const c = await findCustomer(admin, p);
    // Not a Shopify customer (never bought there): Hearth does not create storefront accounts.
    if (!c) return { ok: true, unchanged: {} };
    const person = { first_name: c.firstName, last_name: c.lastName, email: c.email, phone: c.phone };
    const held = c.defaultAddress ? heldAddress(c.defaultAddress) : null;
    if (held && sameDeliveryPoint(held, p.address))
      return { ok: true, external_id: numeric(c.id), unchanged: shopifyVendorFields(person, held) };
    const address = mailingInput(p.address);
    const res = c.defaultAddress
      ? await admin.graphql<{ customerAddressUpdate: Mutation }>(UPDATE, {
          customerId: c.id,
          addressId: c.defaultAddress.id,
          address,
        })
      : await admin.graphql<{ customerAddressCreate: Mutation }>(CREATE, { customerId: c.id, address });
    const m = 'customerAddressUpdate' in res ? res.customerAddressUpdate : res.customerAddressCreate;
    if (m.userErrors.length)
      return { ok: false, kind: 'invalid', message: `shopify refused the address: ${m.userErrors[0]!.message}` };
    return { ok: true, external_id: numeric(c.id), written: shopifyVendorFields(person, p.address) };
  } catch (err) {
    if (!(err instanceof HearthError)) return { ok: false, kind: 'unknown', message: String(err) };
    const kind = String(err.details?.kind ?? 'unknown') as Extract<DeliveryResult, { ok: false }>['kind'];
    return { ok: false, kind, message: err.message };
  }
}

interface Mutation {
  address: { id: string } | null;
  userErrors: { field: string[] | null; message: string }[];
}

async function findCustomer(admin: AdminClient, p: ProfileProjectPayload): Promise<ShopifyCustomerNode | null> {
  if (p.external_id)
    return (await admin.graphql<{ customer: ShopifyCustomerNode | null }>(BY_ID, { id: gid(p.external_id) })).customer;
  if (!p.email) return null;
  // Shopify's search syntax: quote the address so `+` and `.` are literal.
  const q = `email:"${p.email.replace(/["\\]/g, '')}"`;
  return (
    (await admin.graphql<{ customers: { nodes: ShopifyCustomerNode[] } }>(BY_EMAIL, { q })).customers.nodes[0] ?? null
  );
}

function heldAddress(a: ShopifyMailing): PostalAddress {
  return {
    line1: a.address1 ?? '',
    line2: a.address2,
    city: a.city,
    region: a.provinceCode,
    postal_code: a.zip,
    country: a.countryCodeV2,
  };
}

function mailingInput(a: PostalAddress): Record<string, string | null> {
  return {
    address1: a.line1,
    address2: a.line2 ?? null,
    city: a.city ?? null,
    provinceCode: a.region ?? null,
    zip: a.postal_code ?? null,
    countryCode: a.country ?? null,
  };
}
