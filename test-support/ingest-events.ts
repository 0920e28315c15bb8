import type { PostalAddress } from '../src/address/types.ts';
import type { CanonicalContact, InboundEvent } from '../src/canonical/types.ts';

/** The time the identity-at-ingest tests' deliveries happen at. */
export const T0 = Date.UTC(2026, 0, 5);

/** A HubSpot contact change, as the CRM's webhook becomes it. */
export function crmContact(id: string, contact: CanonicalContact): InboundEvent {
  return {
    delivery_id: `crm-${id}`,
    event: {
      type: 'contact.updated',
      source: 'hubspot',
      external_id: id,
      contact,
      vendor_fields: { email: contact.email ?? null },
      origin_is_hearth: false,
      occurred_at: T0,
    },
  };
}

/** A Shopify checkout confirming an address. */
export function checkout(id: string, contact: CanonicalContact, address: PostalAddress): InboundEvent {
  return {
    delivery_id: `shop-${id}`,
    event: {
      type: 'checkout.address_confirmed',
      source: 'shopify',
      external_id: id,
      contact,
      address,
      order_id: `o-${id}`,
      occurred_at: T0,
    },
  };
}
