

/** Table types. Times are epoch milliseconds; JSON is stored as text; booleans as 0/1. */
export interface CustomersTable {
  id: string;
  given_name: string | null;
  family_name: string | null;
  email: string | null;
  email_normalized: string | null;
  phone: string | null;
  address_line1: string | null;
  address_line2: string | null;
  city: string | null;
  region: string | null;
  postal_code: string | null;
  country: string | null;
  address_key: string | null;
  address_source: string | null;
  address_validated_at: number | null;
  /** JSON: field -> source system that last set it (for the ownership policy). */
  field_sources: string;
  merged_into: string | null;
  version: number;
  created_at: number;
  updated_at: number;
}

export interface SourceLinksTable {
  system: string;
  external_id: string;
  customer_id: string;
  /** JSON snapshot of the record as the source last reported it. */
  snapshot: string | null;
  created_at: number;
  updated_at: number;
}

export interface ChangeLogTable {
  id: string;
  customer_id: string;
  field: string;
  old_value: string | null;
  new_value: string | null;
  source_system: string;
  actor: string;
  event_id: string | null;
  changed_at: number;
}

export type InboxStatus = 'pending' | 'applied' | 'ignored' | 'echo' | 'failed';

export interface InboxEventsTable {
  id: string;
  connector: string;
  delivery_id: string;
  event_type: string;
  /** JSON of the canonical event. */
  payload: string;
  status: InboxStatus;
  attempts: number;
  error: string | null;
  received_at: number;
  applied_at: number | null;
}

export type JobStatus = 'pending' | 'running' | 'done' | 'dead' | 'superseded';

export interface JobsTable {
  id: string;
  target: string;
  kind: string;
  /** Jobs with the same key run in creation order (one CRM contact, one webhook subscriber...). */
  job_key: string;
  payload: string;
  status: JobStatus;
  attempts: number;
  max_attempts: number;
  run_at: number;
  locked_by: string | null;
  locked_until: number | null;
  last_error: string | null;
  /** Neutral kind of the last failure: transient | rate_limited | auth | not_found | invalid | unknown. */
  last_error_kind: string | null;
  event_id: string | null;
  customer_id: string | null;
  /** When the change this job carries happened (start of the sync window). */
  origin_at: number;
  created_at: number;
  updated_at: number;
  done_at: number | null;
}

export interface EchoFingerprintsTable {
  system: string;
  external_id: string;
  fingerprint: string;
  job_id: string | null;
  created_at: number;
}

export type ApiRole = 'admin' | 'operator' | 'readonly';

export interface ApiKeysTable {
  id: string;
  name: string;
  role: ApiRole;
  key_hash: string;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface HouseholdsTable {
  id: string;
  name: string | null;
  /** The CRM that is the authority for this household, and its id there (company, account). */
  source_system: string;
  external_id: string;
  created_at: number;
  updated_at: number;
}

export type HierarchyRole = 'head' | 'member';

/** One period of one customer's membership; the open period has `valid_to` null. */
export interface HouseholdMembersTable {
  id: string;
  household_id: string;
  customer_id: string;
  role: HierarchyRole;
  /** points_aggregation_opt_in: explicit consent, 0/1, default 0. */
  opt_in: number;
  valid_from: number;
  valid_to: number | null;
  source_system: string;
  created_at: number;
}

export interface Database {
  customers: CustomersTable;
  source_links: SourceLinksTable;
  change_log: ChangeLogTable;
  inbox_events: InboxEventsTable;
  jobs: JobsTable;
  echo_fingerprints: EchoFingerprintsTable;
  api_keys: ApiKeysTable;
  households: HouseholdsTable;
  household_members: HouseholdMembersTable;
}
