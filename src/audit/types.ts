import type { ExportFormat } from '../canonical/export-columns.ts';
import type { CrmField, OrderField } from '../canonical/export-columns.ts';

/** The CRM contacts export format (its columns come from the connector's descriptor). */
export type CrmFormat = ExportFormat<CrmField>;
export type OrdersFormat = ExportFormat<OrderField>;

export const FINDING_KINDS = [
  'stale_address',
  'missing_address',
  'missing_in_crm',
  'duplicate_contact',
  'phone_mismatch',
  'format_only',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** Fields whose drift the summary rates: the delivery point as a whole, its parts, and the phone. */
export const DRIFT_FIELDS = [
  'address',
  'address_number',
  'street_name',
  'occupancy_identifier',
  'place_name',
  'state_name',
  'zip_code',
  'phone',
] as const;
export type DriftField = (typeof DRIFT_FIELDS)[number];

/**
 * One CRM contact as the audit keeps it: strings only, the address fields joined by `\u001f`
 * (one string instead of six), and a link to the next contact with the same email.
 */
export interface CrmContact {
  id: string;
  address: string;
  phone: string;
  next: CrmContact | undefined;
  /** Only when the three-system audit asks for them (and the export has the columns). */
  name?: string;
  hearthId?: string;
}

/** The most recent order seen for one email. */
export interface LatestOrder {
  name: string;
  id: string;
  createdAt: number;
  address: string;
  phone: string;
}

export interface OrderRef {
  name: string;
  id: string | null;
  created_at: string;
}

export interface FindingEvidence {
  field: 'address' | 'phone' | 'contact';
  crm_value: string | null;
  observed_value: string | null;
  order: OrderRef | null;
  /** Components (or `phone`) whose values differ as delivery points / numbers. */
  differing: string[];
  /** Components that differ only in spelling. */
  format_only: string[];
  months_since_order: number | null;
  /** For duplicate_contact: every CRM id sharing the email. */
  crm_ids?: string[];
  /** For phone findings: both numbers as E.164 (bare digits when not a possible number). */
  crm_e164?: string;
  observed_e164?: string;
}

export interface Finding {
  kind: FindingKind;
  email: string;
  crm_id: string | null;
  evidence: FindingEvidence;
}

export interface FieldDrift {
  compared: number;
  drifted: number;
  rate: number;
}

export interface AuditSummary {
  crm: {
    file: string;
    format: string;
    rows_read: number;
    contacts: number;
    distinct_emails: number;
    without_email: number;
  };
  orders: {
    file: string;
    format: string;
    rows_read: number;
    orders: number;
    customers: number;
    without_email: number;
    bad_dates: number;
  };
  rows_read: number;
  joined_customers: number;
  /** Of those, joined through Hearth's crosswalk (`--db`): the order's email is not the CRM's. */
  joined_by_crosswalk: number;
  counts: Record<FindingKind, number>;
  drift_rate: Record<DriftField, FieldDrift>;
  as_of: string;
  elapsed_ms: number;
  rows_per_second: number;
  /** Per extra system (`--stripe`, `--zendesk`), only when given. */
  systems?: Record<string, SystemSummary>;
}

export interface AuditReport {
  summary: AuditSummary;
  findings: Finding[];
  /** Extra systems' findings, only when `--stripe` or `--zendesk` was given. */
  system_findings?: SystemFinding[];
}

/** Findings about one extra system's record (Stripe, Zendesk) against the CRM contact. */
export const SYSTEM_FINDING_KINDS = [
  'address_mismatch',
  'missing_address',
  'phone_mismatch',
  'name_mismatch',
  'format_only',
  'missing_in_system',
  'missing_in_crm',
] as const;
export type SystemFindingKind = (typeof SYSTEM_FINDING_KINDS)[number];

export interface SystemFinding {
  system: string;
  kind: SystemFindingKind;
  email: string;
  crm_id: string | null;
  system_id: string | null;
  hearth_id: string | null;
  evidence: {
    field: 'address' | 'phone' | 'name' | 'contact';
    crm_value: string | null;
    system_value: string | null;
    differing: string[];
    format_only: string[];
    crm_e164?: string;
    system_e164?: string;
  };
}

export interface SystemSummary {
  file: string;
  format: string;
  rows_read: number;
  records: number;
  distinct_emails: number;
  without_email: number;
  /** CRM contacts with a record here (by email, or by Hearth id under another email). */
  joined: number;
  joined_by_hearth_id: number;
  counts: Record<SystemFindingKind, number>;
}
