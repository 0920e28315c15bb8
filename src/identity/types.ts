/** Canonical input fields of a person record (all optional strings, as read from a source). */
export const CANONICAL_FIELDS = [
  'given_name',
  'family_name',
  'email',
  'phone',
  'address_line1',
  'address_line2',
  'street_number',
  'city',
  'region',
  'postal_code',
  'country',
  'date_of_birth',
  'national_id',
] as const;

export type CanonicalField = (typeof CANONICAL_FIELDS)[number];

export type PersonInput = Partial<Record<CanonicalField, string | null | undefined>>;

/** One record to match: its id in the source, an optional source tag (for linkage), fields. */
export interface PersonRecord {
  id: string;
  source?: string;
  fields: PersonInput;
}

/** A record after normalisation: what comparators and blocking read. '' means missing. */
export interface PreparedRecord {
  given: string;
  family: string;
  email: string;
  phone: string;
  dob: string;
  nationalId: string;
  streetNumber: string;
  street: string;
  line2: string;
  /**
   * Each address line read alone as a street ('' when line 2 is empty), to compare records
   * whose two lines are swapped.
   */
  street1: string;
  street2: string;
  /**
   * Line 1 as typed, letters only (no spaces, digits or punctuation): compared when the parsed
   * streets disagree, since a parser can read a run-together or misspelt line (`coplanddrive`,
   * `davidson wtreet`) as something else than a street.
   */
  streetRaw: string;
  /** Line 2 as typed, letters only: with streetRaw, finds address lines swapped (with typos). */
  line2Raw: string;
  /** Line 2 as typed, letters and digits. */
  line2Key: string;
  city: string;
  postcode: string;
  region: string;
  /** Sound-alike codes, computed once for blocking. */
  givenSdx: string;
  familySdx: string;
}

export interface BandConfig {
  /** Pairs with probability >= p_auto are linked automatically (subject to the chaining guard). */
  p_auto: number;
  /** Pairs with probability >= p_review (and < p_auto) go to the review queue. */
  p_review: number;
}

export type Band = 'auto' | 'review' | 'reject';
