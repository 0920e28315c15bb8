/** A postal address as systems exchange it (Shopify, CRMs, Hearth's own API). */
export interface PostalAddress {
  line1: string;
  line2?: string | null;
  city?: string | null;
  region?: string | null;
  postal_code?: string | null;
  country?: string | null;
}

/**
 * Parsed components, named after the usaddress tag set (which follows USPS Pub. 28), normalised
 * to Pub. 28 standard abbreviations in upper case. Absent components are omitted.
 */
export interface AddressComponents {
  address_number?: string;
  street_name_pre_directional?: string;
  street_name_pre_type?: string;
  street_name?: string;
  street_name_post_type?: string;
  street_name_post_directional?: string;
  occupancy_type?: string;
  occupancy_identifier?: string;
  /** Rural route or highway contract route: `RR` or `HC`, and its number ("RR 2 BOX 348"). */
  usps_box_group_type?: string;
  usps_box_group_id?: string;
  usps_box_type?: string;
  usps_box_id?: string;
  place_name?: string;
  state_name?: string;
  zip_code?: string;
  zip_plus4?: string;
  country?: string;
}

export interface NormalizedAddress {
  /** The input exactly as received. */
  raw: string;
  components: AddressComponents;
  /**
   * Canonical string of the delivery point: equal for two inputs that are the same delivery point
   * (`Apt 4B` = `Apartment 4-B` = `#4B`, `Street` = `St`, ZIP+4 vs ZIP5) and different otherwise.
   */
  key: string;
  /** A single-line standardised rendering (`123 N MAIN ST APT 4B, SPRINGFIELD, IL 62704`). */
  standardized: string;
  /** False for input that is not a US address or has no street or box (then `key` is `RAW|...`). */
  valid: boolean;
  /** Why `valid` is false. */
  reason?: string;
}

export interface AddressComparison {
  same_delivery_point: boolean;
  /** Component names whose normalised values differ (empty when same_delivery_point). */
  differing: (keyof AddressComponents)[];
  /** Components that differ only in spelling/format (e.g. `Street` vs `St`), for reports. */
  format_only: (keyof AddressComponents)[];
}
