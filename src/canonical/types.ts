import type { PostalAddress } from '../address/types.ts';
import type { ClearableField } from './fields.ts';

/** A connector's name (`connectors.<name>` in config, the system in the crosswalk); see connectors/registry.ts. */
export type ConnectorId = string;

/** Neutral failure kinds every connector maps its vendor's errors into. */
export type FailureKind = 'transient' | 'rate_limited' | 'auth' | 'not_found' | 'invalid' | 'unknown';

/** A person as any system describes them, in Hearth's canonical field names. */
export interface CanonicalContact {
  given_name?: string | null;
  family_name?: string | null;
  email?: string | null;
  phone?: string | null;
  address?: PostalAddress | null;
}

/** What a webhook or change event means to Hearth, whatever the vendor's payload looked like. */
export type CanonicalEvent =
  | {
      /** Checkout confirmed (validated) a shipping address for a customer: the write-back trigger. */
      type: 'checkout.address_confirmed';
      source: ConnectorId;
      /** The storefront's customer id, if the order had a customer. */
      external_id: string | null;
      contact: CanonicalContact;
      address: PostalAddress;
      order_id: string;
      occurred_at: number;
    }
  | {
      /** A system of record reports a changed person record (storefront customer, CRM contact). */
      type: 'contact.updated';
      source: ConnectorId;
      external_id: string;
      contact: CanonicalContact;
      /**
       * The vendor's raw property values in this change (`{ city: 'Austin' }`), used to recognise
       * echoes of Hearth's own writes by value.
       */
      vendor_fields: Record<string, string | null>;
      /** True when the vendor itself says Hearth made this change (HubSpot sourceId, SF changeOrigin). */
      origin_is_hearth: boolean;
      occurred_at: number;
      /**
       * The vendor's ordering of this record's changes (Stripe event `created`), when its deliveries
       * may arrive out of order: a change older than the last one applied from the record is stale.
       */
      version?: number;
      /**
       * The Hearth id the vendor record carries (Stripe `metadata.hearth_id`): it links a record the
       * crosswalk does not know yet to that customer, before the e-mail is tried.
       */
      hearth_id?: string | null;
      /**
       * Fields `contact` carries only to identify the record (the vendor says they did not change:
       * Stripe's current e-mail when `previous_attributes` does not name it): they link and match,
       * but change nothing, raise no drift finding and carry no version.
       */
      unchanged?: (keyof CanonicalContact)[];
      /**
       * Fields the vendor says were emptied (Stripe `phone: null` named in `previous_attributes`, a
       * Zendesk phone identity deleted, a HubSpot property set to ''), each null in `contact`: a
       * clear, applied and logged like any change. A null not named here is only "no value".
       */
      cleared?: ClearableField[];
    }
  | {
      /**
       * A CRM reports a change to a contact's household relationship (HubSpot associationChange,
       * Salesforce CDC on Contact.AccountId). It carries only what the vendor said; the apply step
       * never calls the vendor: roles it cannot know are kept, and the next pull refreshes them.
       */
      type: 'household.changed';
      source: ConnectorId;
      /** The contact. */
      external_id: string;
      /** What the event tells of the person besides (association events: nothing, `{}`). */
      contact: CanonicalContact;
      /**
       * The contact now belongs to this CRM household record (company, account). `primary`: the
       * CRM marks it the contact's main one, replacing the current; a non-primary record is
       * joined only by a contact in no household.
       */
      joined?: { household_external_id: string; role: 'head' | 'member' | null; primary: boolean };
      /** The contact left this household record (`*`: whichever it was in). */
      left?: string;
      origin_is_hearth: boolean;
      occurred_at: number;
    }
  | {
      /** The storefront took an order (the points ledger earns on it; it is forwarded enriched). */
      type: 'order.placed';
      source: ConnectorId;
      /** The storefront's customer id, if the order had a customer. */
      external_id: string | null;
      contact: CanonicalContact;
      /** The storefront's order id (stable across topics: refunds name it). */
      order_id: string;
      /** The human order name (`#1001`). */
      order_name: string | null;
      /** Order total in minor units (cents). */
      total_minor: number;
      currency: string | null;
      line_count: number;
      occurred_at: number;
    }
  | {
      /** An order was cancelled (whole) or refunded (part): its points are reversed. */
      type: 'order.reversed';
      source: ConnectorId;
      external_id: string | null;
      contact: CanonicalContact;
      order_id: string;
      reason: 'cancelled' | 'refunded';
      /** The refund's id (one reversal per refund); null for a cancellation. */
      refund_id: string | null;
      /** Amount refunded in minor units; null: the whole order. */
      amount_minor: number | null;
      occurred_at: number;
    }
  | {
      /** A billing system reports an account's standing (payment failed or paid, customer deleted). */
      type: 'billing.status_changed';
      source: ConnectorId;
      /** The billing system's customer id. */
      external_id: string;
      contact: CanonicalContact;
      status: BillingStatus;
      /** What caused it (the invoice id), for the record. */
      reason: string | null;
      occurred_at: number;
    }
  | {
      /** A billing system reports a customer's billing address (distinct from the address of record). */
      type: 'billing.address_changed';
      source: ConnectorId;
      external_id: string;
      contact: CanonicalContact;
      billing_address: PostalAddress | null;
      occurred_at: number;
    }
  | {
      /** A subscription (a product the customer pays for) was created, changed or ended. */
      type: 'subscription.changed';
      source: ConnectorId;
      external_id: string;
      contact: CanonicalContact;
      subscription: Subscription;
      occurred_at: number;
    }
  | { type: 'unsupported'; source: ConnectorId; vendor_type: string };

/** A customer's standing in billing. */
export type BillingStatus = 'active' | 'past_due' | 'delinquent' | 'canceled';

/** A product the customer pays for, as the billing system names it. */
export interface Subscription {
  id: string;
  name: string | null;
  /** The billing system's status (`active`, `past_due`, `canceled`, ...). */
  status: string;
}

/** Job kind of a profile projection: a system that reads the customer view (billing, support). */
export const PROFILE_PROJECT = 'profile.project';

/**
 * Payload of `profile.project`: the customer as the systems around Hearth should show it. Each
 * connector writes what it holds and may not set (support reads billing status; billing never
 * writes the tier).
 */
export interface ProfileProjectPayload {
  customer_id: string;
  /** The target system's record id from the crosswalk, or null to look it up. */
  external_id: string | null;
  given_name: string | null;
  family_name: string | null;
  email: string | null;
  phone: string | null;
  address: PostalAddress | null;
  household_id: string | null;
  hierarchy_role: 'head' | 'member' | null;
  loyalty_tier: string | null;
  points_balance: number;
  billing_status: BillingStatus | null;
  billing_status_since: number | null;
  billing_address: PostalAddress | null;
  subscriptions: Subscription[];
  /**
   * Person fields an owning system cleared (null here with a recorded writer): a target that holds
   * its own copy clears it too, where a null with no writer only means Hearth knows no value.
   */
  cleared?: ClearableField[];
}

/** One event of a webhook delivery, with the vendor's id that makes it idempotent. */
export interface InboundEvent {
  /** Shopify X-Shopify-Event-Id; HubSpot `${eventId}:${occurredAt}`; Salesforce replay id. */
  delivery_id: string;
  event: CanonicalEvent;
}

export interface WebhookRequest {
  rawBody: Buffer;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  method: string;
  /** The full URL the vendor called (HubSpot v3 signs it). */
  url: string;
  now: number;
}

export type VerifyResult = { ok: true } | { ok: false; error: string };

export interface WebhookIngress {
  /** Authenticates the raw bytes (HMAC, constant time, replay window). Never throws. */
  verify(req: WebhookRequest): VerifyResult;
  /** Turns a verified body into canonical events; throws HearthError('bad_request') naming the field. */
  parse(req: WebhookRequest): InboundEvent[];
  /**
   * Optional: maps a record's accumulated vendor properties to a canonical contact. Vendors that
   * report one property per change event (HubSpot) need it: the engine merges each change into
   * the record's last snapshot and asks for the whole contact, so a changed `city` arrives as a
   * complete address.
   */
  contactFromFields?(fields: Record<string, string | null>): CanonicalContact;
}

/** An outbound unit of work handed to a connector by the job worker. */
export interface OutboundJob<P = unknown> {
  id: string;
  kind: string;
  attempts: number;
  payload: P;
}

/** Payload of `crm.address_write`: put the canonical address into the CRM's standard fields. */
export interface AddressWritePayload {
  customer_id: string;
  /** The CRM record id from the crosswalk, or null to look it up by email. */
  external_id: string | null;
  email: string | null;
  address: PostalAddress;
  /** When checkout corrected it (start of the sync window). */
  corrected_at: number;
}

/** Why a delivery needs a person: the vendor's record in the way (if known) and the reason, without PII. */
export interface DeliveryReview {
  reason: 'duplicate_email';
  /** The vendor record that holds the value (a Zendesk user id), when the connector could find it. */
  holder_external_id: string | null;
  message: string;
}

export type DeliveryResult =
  | {
      ok: true;
      /** The record the write landed on (so the crosswalk can learn it). */
      external_id?: string;
      /** Vendor property values written, to recognise the echo when the vendor reports them back. */
      written?: Record<string, string | null>;
      /**
       * Set instead of `written` when the record already held the same delivery point (another
       * spelling): nothing was written, and these are the values it holds.
       */
      unchanged?: Record<string, string | null>;
      /** Events a read job produced (a fetched contact), stored in the inbox as the job settles. */
      inbound?: InboundEvent[];
      /**
       * Nothing was written: the vendor refused for a reason a person must decide (another record
       * there holds this customer's e-mail). The job settles, neither retried nor dead-lettered, and
       * an identity review item is queued (once per record and customer).
       */
      review?: DeliveryReview;
    }
  | { ok: false; kind: FailureKind; message: string; retry_after_ms?: number };

export interface OutboundConnector {
  /** Job kinds this connector can deliver. */
  kinds: readonly string[];
  /** Delivers a batch (same kind); returns one result per job, in order. Never throws for vendor errors. */
  deliver(jobs: OutboundJob[]): Promise<DeliveryResult[]>;
  /**
   * Optional: the vendor property values a job is about to write, when the record id is already
   * known. The worker remembers them before sending, so an echo that the vendor reports before
   * our write is acknowledged is still recognised.
   */
  expectedWrites?(job: OutboundJob): { external_id: string; written: Record<string, string | null> } | null;
  /** Optional: false while the connector cannot authenticate (a revoked grant); its jobs wait unclaimed. */
  ready?(): boolean;
}

/** Whether a connector can authenticate (renewing credentials; see connectors/common/credentials.ts). */
export interface ConnectorAuthStatus {
  state: 'ok' | 'needs_reauth' | 'rejected' | 'unknown';
  renewable: boolean;
  expires_at: number | null;
  last_renewed_at: number | null;
  error: string | null;
}

/** One record read from a system of record by a pull (import, refresh, reconciliation). */
export interface PulledContact {
  external_id: string;
  contact: CanonicalContact;
  /** The vendor's raw values of the properties asked for (standard address fields, opt-in...). */
  properties: Record<string, string | null>;
  /** When the vendor last changed the record, if it says (epoch ms). */
  updated_at: number | null;
}

export interface PullPage {
  records: PulledContact[];
  /** Opaque cursor for the next page; null at the end. Saved so a pull can resume. */
  next_cursor: string | null;
}

/**
 * Paged reading of a system's people, within its rate limits (retries on 429 inside).
 * `extra_properties` names vendor properties to return in `properties` besides the standard ones.
 */
export interface ContactSource {
  listContacts(cursor: string | null, opts: { limit: number; extra_properties?: readonly string[] }): Promise<PullPage>;
  /** One contact by id (null: the system has no such contact). */
  getContact?(externalId: string, opts: { extra_properties?: readonly string[] }): Promise<PulledContact | null>;
}

/** A contact's household as its CRM describes it, in Hearth's terms. */
export interface HouseholdLink {
  /** The CRM record that stands for the household (company, account, head contact); null: none. */
  household: { external_id: string; name: string | null } | null;
  role: 'head' | 'member';
  /** points_aggregation_opt_in: explicit consent, false unless the CRM property says yes. */
  opt_in: boolean;
}

/** Reads household relationships for a page of pulled contacts (keyed by contact external id). */
export interface HouseholdSource {
  householdsOf(contacts: readonly PulledContact[]): Promise<Map<string, HouseholdLink>>;
}

/** Payload of `crm.opt_in_write`: set the configured opt-in property of a CRM contact. */
export interface OptInWritePayload {
  customer_id: string;
  external_id: string;
  property: string;
  opt_in: boolean;
}

export interface Connector {
  id: ConnectorId;
  ingress?: WebhookIngress;
  outbound?: OutboundConnector;
  /** Paged reads of the system's contacts (CRMs). */
  source?: ContactSource;
  /** Largest batch `deliver` accepts (HubSpot batch update: 100). */
  maxBatch?: number;
  /** Its credential's state (connectors with an API credential). */
  auth?: { status(): ConnectorAuthStatus };
}
