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

/** One event's changes to one customer (migration 0041); `change_log` is the per-field view of it. */
export interface ChangeLineageTable {
  id: string;
  customer_id: string;
  source_system: string;
  actor: string;
  event_id: string | null;
  changed_at: number;
  /** JSON `[[field, old, new], ...]`. */
  changes: string;
  /** When the values were blanked (erasure, retention; migration 0080): fields and times stay. */
  redacted_at?: number | null;
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
  /** When the payload was blanked (erasure, retention; migration 0080); null while it holds the event. */
  redacted_at?: number | null;
}

/** `shadow`: recorded instead of sent while its connector's write-back flag is `shadow` (governance). */
export type JobStatus = 'pending' | 'running' | 'done' | 'dead' | 'superseded' | 'shadow';

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
  /** 1: a state (only the newest job of its kind and key may land); 0: one event of a stream. */
  supersedes: number;
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

export type LedgerKind = 'earn' | 'redeem' | 'adjust' | 'reverse' | 'expire' | 'transfer';

/** One append-only points ledger entry; balances are sums over these. */
export interface LedgerEntriesTable {
  id: string;
  kind: LedgerKind;
  /** The account credited or debited: a customer (`cus_`) or a household pool (`hh_`). */
  account_id: string;
  /** Attribution: the individual who caused it (null for an operator adjustment of a pool). */
  customer_id: string | null;
  /** The attributed individual's household at the time (null when none). */
  household_id: string | null;
  /** Signed points. */
  points: number;
  /** Signed qualifying spend in minor units (cents), counted towards tiers. */
  spend_minor: number;
  currency: string | null;
  order_ref: string | null;
  order_name: string | null;
  /** The entry this one answers (a reversal's earn, a transfer's other leg). */
  ref_entry_id: string | null;
  /** Where it came from: shopify, api, backfill, membership... */
  source: string;
  actor: string;
  reason: string | null;
  /** Unique when set: an order earns once however often its webhook repeats. */
  idempotency_key: string | null;
  /** Business time (order time); windows and audits use it. */
  occurred_at: number;
  created_at: number;
}

/** A row per ledger account, locked by debits so concurrent redemptions never overdraw. */
export interface LoyaltyAccountsTable {
  id: string;
  kind: 'customer' | 'household';
  lock_seq: number;
  created_at: number;
}

/** The tier last set for a customer (to notice changes; spend as of that moment); tierOf computes the live one. */
export interface TierStateTable {
  customer_id: string;
  tier: string | null;
  basis: 'household' | 'individual';
  basis_id: string;
  qualifying_spend_minor: number;
  updated_at: number;
}

/** `address_quarantine`: a checkout address that failed plausibility, held back (flows/contact-update.ts). */
/** `system_duplicate`: a connected system refused a write because another of its records holds the e-mail. */
export type ReviewKind = 'match' | 'household_suggestion' | 'address_quarantine' | 'system_duplicate';
export type ReviewStatus = 'pending' | 'linked' | 'not_a_match';

/** A blocking key of a customer (`phone:+1...`, `addr:<address key>`...): candidate look-up at ingest. */
export interface IdentityKeysTable {
  key: string;
  customer_id: string;
}

/** An uncertain match or a household suggestion waiting for an operator. */
export interface ReviewItemsTable {
  id: string;
  kind: ReviewKind;
  /** Unique per kind: a pair (or address and family) is queued once, decided once. */
  subject_key: string;
  status: ReviewStatus;
  /** JSON array of customer ids: [existing, incoming] for a match, the members for a household. */
  customer_ids: string;
  score: number | null;
  /** JSON: the match explanation (fields, levels, weights) or the household evidence. */
  explanation: string | null;
  source_system: string | null;
  event_id: string | null;
  merge_id: string | null;
  decided_by: string | null;
  decided_at: number | null;
  created_at: number;
  updated_at: number;
  /** The identity model version that scored a match item (null: the built-in defaults). */
  model_version: number | null;
}

/** One merge (B into A) or unmerge, with both records' prior state and the moved crosswalk entries. */
export interface MergeLogTable {
  id: string;
  action: 'merge' | 'unmerge';
  survivor_id: string;
  merged_id: string;
  /** JSON rows: the survivor and the merged record before this action, and the survivor after. */
  survivor_before: string;
  merged_before: string;
  survivor_after: string;
  /** JSON array of the crosswalk entries (system, external_id) that moved. */
  moved_links: string;
  /** For an unmerge: the merge it undid. For a merge: the unmerge that undid it. */
  undoes: string | null;
  undone_by: string | null;
  review_id: string | null;
  actor: string;
  created_at: number;
}

export type HouseholdPullStatus = 'running' | 'paused' | 'done' | 'failed';

/** One household pull (`hearth sync pull`): the cursor after the last committed page, and counts. */
export interface HouseholdPullsTable {
  id: string;
  connector: string;
  status: HouseholdPullStatus;
  cursor: string | null;
  pages: number;
  contacts: number;
  customers_created: number;
  households_created: number;
  members_changed: number;
  error: string | null;
  started_at: number;
  updated_at: number;
  finished_at: number | null;
}

export type ReconcileRunStatus = 'running' | 'paused' | 'failed' | 'done';

/** One reconciliation run: which systems it pulls, where it is (system + cursor, so it resumes), and its counts. */
export interface ReconcileRunsTable {
  id: string;
  status: ReconcileRunStatus;
  /** api, cli or schedule. */
  trigger: string;
  actor: string;
  /** JSON array of the systems to pull, in order. */
  systems: string;
  /** The system being pulled (null once all are done). */
  system: string | null;
  /** The saved cursor of the next page of `system` (null: its first page). */
  cursor: string | null;
  pages: number;
  records: number;
  matched: number;
  unmatched: number;
  findings: number;
  jobs: number;
  /** JSON: system -> field -> { compared, drifted, format_only }, accumulated page by page. */
  stats: string;
  error: string | null;
  started_at: number;
  updated_at: number;
  finished_at: number | null;
}

export type DriftKind = 'drift' | 'format_only';
/**
 * open: awaits an operator (review); healing: a corrective job is queued; reported: measured only;
 * ignored: format only.
 */
export type DriftStatus = 'open' | 'healing' | 'reported' | 'ignored' | 'dismissed' | 'superseded';

/** One field of one record in one system that disagrees with Hearth's canonical value. */
export interface DriftFindingsTable {
  id: string;
  run_id: string;
  system: string;
  external_id: string;
  customer_id: string;
  field: string;
  kind: DriftKind;
  /** The field's policy when found: heal, review or report. */
  policy: string;
  status: DriftStatus;
  canonical_value: string | null;
  system_value: string | null;
  /** JSON evidence: differing address components, both E.164 numbers... */
  detail: string | null;
  job_id: string | null;
  decided_by: string | null;
  decided_at: number | null;
  created_at: number;
  updated_at: number;
}

/** The drift scorecard of one run: per system and field, the share of records that disagree. */
export interface ReconcileScoresTable {
  run_id: string;
  system: string;
  field: string;
  compared: number;
  drifted: number;
  format_only: number;
  computed_at: number;
}

/** A billing-system customer's standing and billing address (migration 0020). */
export interface BillingAccountsTable {
  system: string;
  external_id: string;
  customer_id: string | null;
  status: string | null;
  status_at: number | null;
  status_reason: string | null;
  /** JSON of a PostalAddress. */
  billing_address: string | null;
  address_at: number | null;
  email: string | null;
  updated_at: number;
}

export interface BillingSubscriptionsTable {
  system: string;
  subscription_id: string;
  external_id: string;
  name: string | null;
  status: string;
  changed_at: number;
}

export interface Database {
  customers: CustomersTable;
  source_links: SourceLinksTable;
  /** A view over change_lineage (read only). */
  change_log: ChangeLogTable;
  change_lineage: ChangeLineageTable;
  inbox_events: InboxEventsTable;
  jobs: JobsTable;
  echo_fingerprints: EchoFingerprintsTable;
  api_keys: ApiKeysTable;
  households: HouseholdsTable;
  household_members: HouseholdMembersTable;
  household_pulls: HouseholdPullsTable;
  identity_keys: IdentityKeysTable;
  review_items: ReviewItemsTable;
  merge_log: MergeLogTable;
  ledger_entries: LedgerEntriesTable;
  loyalty_accounts: LoyaltyAccountsTable;
  tier_state: TierStateTable;
  reconcile_runs: ReconcileRunsTable;
  drift_findings: DriftFindingsTable;
  reconcile_scores: ReconcileScoresTable;
  billing_accounts: BillingAccountsTable;
  billing_subscriptions: BillingSubscriptionsTable;
  connector_cursors: ConnectorCursorsTable;
  connector_tokens: ConnectorTokensTable;
  feature_flags: FeatureFlagsTable;
  flag_changes: FlagChangesTable;
  shadow_writes: ShadowWritesTable;
  governance_reverts: GovernanceRevertsTable;
  quality_reviews: QualityReviewsTable;
  erasures: ErasuresTable;
  erasure_tombstones: ErasureTombstonesTable;
  erasure_systems: ErasureSystemsTable;
  erasure_holds: ErasureHoldsTable;
  install_secrets: InstallSecretsTable;
  data_keys: DataKeysTable;
  data_key_rotations: DataKeyRotationsTable;
  inbox_subjects: InboxSubjectsTable;
  field_disclosures: FieldDisclosuresTable;
  identity_models: IdentityModelsTable;
}

/** Where a connector's stream or long read stopped (migration 0060): a CDC replay id, a bulk operation. */
export interface ConnectorCursorsTable {
  connector: string;
  stream: string;
  position: string | null;
  /** 1 while a full re-pull is owed (an expired replay id); cleared when it finished. */
  repull_pending: number;
  updated_at: number;
}

/** A connector's current token shared across processes (migration 0075); the token encrypted or null. */
export interface ConnectorTokensTable {
  connector: string;
  access_token: string | null;
  expires_at: number | null;
  state: 'ok' | 'needs_reauth';
  error: string | null;
  grant_fp: string;
  version: number;
  updated_at: number;
}

// Governance (migration 0050).
export interface FeatureFlagsTable {
  name: string;
  value: string;
  updated_by: string;
  updated_at: number;
}

export interface FlagChangesTable {
  id: string;
  name: string;
  from_value: string | null;
  to_value: string;
  actor: string;
  reason: string | null;
  changed_at: number;
}

export type ShadowWriteStatus = 'shadowed' | 'released' | 'dropped';

export interface ShadowWritesTable {
  id: string;
  job_id: string;
  target: string;
  kind: string;
  job_key: string;
  customer_id: string | null;
  /** JSON of what the connector would have been handed. */
  payload: string;
  /** JSON array of the canonical fields the write would change (`address`, `phone`...). */
  fields: string;
  status: ShadowWriteStatus;
  created_at: number;
  updated_at: number;
}

export interface GovernanceRevertsTable {
  id: string;
  /** JSON of what was reverted (a change, an event, a source, a window). */
  selector: string;
  actor: string;
  changes: number;
  customers: number;
  /** JSON of the conflicts skipped. */
  skipped: string;
  created_at: number;
}

export type QualityReviewStatus = 'open' | 'approved' | 'rejected';

export interface QualityReviewsTable {
  id: string;
  customer_id: string;
  source_system: string;
  event_id: string | null;
  field: string;
  rule: string;
  reason: string;
  old_value: string | null;
  new_value: string | null;
  status: QualityReviewStatus;
  decided_by: string | null;
  decided_at: number | null;
  created_at: number;
}

// Erasure (migration 0080).
export interface ErasuresTable {
  id: string;
  /** The erased customer's id (a random id, not personal data); the row itself is gone. */
  customer_id: string;
  actor: string;
  /** JSON: rows removed or blanked per table (counts only). */
  removed: string;
  created_at: number;
}

/** A keyed hash (HMAC-SHA256) of an erased person's e-mail, phone or source id; never the value. */
export interface ErasureTombstonesTable {
  hash: string;
  erasure_id: string;
  /** email | phone | source */
  kind: string;
  created_at: number;
}

/** The erasure job of one connected system (its status is the job's); `note` when none was queued. */
export interface ErasureSystemsTable {
  erasure_id: string;
  system: string;
  job_id: string | null;
  note: string | null;
  created_at: number;
}

export type ErasureHoldStatus = 'held' | 'released' | 'dismissed';

/** An inbound event that matched a tombstone: not applied until a person releases it. */
export interface ErasureHoldsTable {
  id: string;
  erasure_id: string;
  event_id: string;
  connector: string;
  /** Which identifier matched: email | phone | source. */
  matched: string;
  status: ErasureHoldStatus;
  decided_by: string | null;
  decided_at: number | null;
  created_at: number;
}

/** Secrets generated once per installation (the tombstone hash key without `security.lookup_key`). */
export interface InstallSecretsTable {
  name: string;
  value: string;
  created_at: number;
}

// Encryption at rest (migration 0085, src/crypto/).
/** One key-check value per data key id (`#lookup` for the lookup key): a wrong key refuses to start. */
export interface DataKeysTable {
  key_id: string;
  check_value: string;
  created_at: number;
}

/** Where a data-key rotation stopped in one table: it resumes after `cursor` (JSON of the row key). */
export interface DataKeyRotationsTable {
  table_name: string;
  /** The key this pass re-encrypts to. */
  key_id: string;
  cursor: string | null;
  rewritten: number;
  updated_at: number;
  finished_at: number | null;
}

// Governance index (migration 0090).
/** Who an inbox event is about: a lookup hash (`email:`/`source:` kind inside the hash) or `cus:<id>`; `-`: nobody. */
export interface InboxSubjectsTable {
  subject: string;
  event_id: string;
}

/** The person fields one delivered job carried to one system (names only; governance/disclosures.ts). */
export interface FieldDisclosuresTable {
  job_id: string;
  customer_id: string | null;
  system: string;
  target: string;
  kind: string;
  /** JSON array of field names. */
  fields: string;
  delivered_at: number;
}

/** A fitted identity model (migration 0105): versions only grow; ingest uses the latest. */
export interface IdentityModelsTable {
  version: number;
  model_id: string;
  /** JSON: the serialised model (see src/identity/model-store.ts). */
  params: string;
  records: number;
  candidate_pairs: number;
  trained_by: string;
  created_at: number;
}
