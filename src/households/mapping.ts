import type { HouseholdLink } from '../canonical/types.ts';

/**
 * Pure mappings from each CRM's way of describing a household to one `HouseholdLink`
 * (household, hierarchy role, opt-in). The connectors read the vendor records; these decide.
 */

const YES = new Set(['true', '1', 'yes', 'y', 'on', 'checked']);

/** The opt-in property's value as consent: only an explicit yes counts (default false). */
export function parseOptIn(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value === 1;
  return typeof value === 'string' && YES.has(value.trim().toLowerCase());
}

/** The opt-in property written back to a CRM: HubSpot and Zoho take strings, Salesforce a checkbox. */
export function optInValue(optIn: boolean): string {
  return optIn ? 'true' : 'false';
}

/** One association of a HubSpot record, as the v4 API lists it. */
export interface HubSpotAssociation {
  toObjectId: string;
  associationTypes: { category: string; typeId: number; label?: string | null }[];
}

/** HubSpot-defined contact -> company "primary" association type. */
export const HUBSPOT_PRIMARY_COMPANY_TYPE = 1;

const hasLabel = (a: HubSpotAssociation, labels: readonly string[]): boolean => {
  const wanted = new Set(labels.map((l) => l.toLowerCase()));
  return a.associationTypes.some((t) => Boolean(t.label) && wanted.has(t.label!.toLowerCase()));
};

/**
 * Company-as-household: the contact's primary company (else its first associated company) is the
 * household; the contact is its head when that association carries a head label (e.g. "Head of
 * household" or "Primary contact"), else a member.
 */
export function hubspotCompanyHousehold(companies: readonly HubSpotAssociation[], names: ReadonlyMap<string, string | null>, headLabels: readonly string[], optIn: unknown): HouseholdLink {
  const primary = companies.find((a) => a.associationTypes.some((t) => t.category === 'HUBSPOT_DEFINED' && t.typeId === HUBSPOT_PRIMARY_COMPANY_TYPE));
  const chosen = primary ?? [...companies].sort((a, b) => compareIds(a.toObjectId, b.toObjectId))[0];
  if (!chosen) return { household: null, role: 'member', opt_in: parseOptIn(optIn) };
  const id = String(chosen.toObjectId);
  return { household: { external_id: id, name: names.get(id) ?? null }, role: hasLabel(chosen, headLabels) ? 'head' : 'member', opt_in: parseOptIn(optIn) };
}

/**
 * Contact-to-contact labels: on contact A's association to B, the label names B's role for A.
 * B labelled "Head of household" -> A is a member of B's household; B labelled "Household member"
 * -> A heads the household. The household is keyed by its head: `contact:<head id>`.
 */
export function hubspotLabelHousehold(contactId: string, contacts: readonly HubSpotAssociation[], labels: { head: readonly string[]; member: readonly string[] }, optIn: unknown): HouseholdLink {
  const head = [...contacts].sort((a, b) => compareIds(a.toObjectId, b.toObjectId)).find((a) => hasLabel(a, labels.head));
  if (head) return { household: { external_id: `contact:${head.toObjectId}`, name: null }, role: 'member', opt_in: parseOptIn(optIn) };
  if (contacts.some((a) => hasLabel(a, labels.member))) return { household: { external_id: `contact:${contactId}`, name: null }, role: 'head', opt_in: parseOptIn(optIn) };
  return { household: null, role: 'member', opt_in: parseOptIn(optIn) };
}

/** The slice of a Salesforce Account the NPSP mapping reads. */
export interface NpspAccount {
  Id: string;
  Name?: string | null;
  RecordType?: { DeveloperName?: string | null } | null;
  npe01__SYSTEM_AccountType__c?: string | null;
  npe01__One2OneContact__c?: string | null;
}

/** NPSP Household Account model: the record type `HH_Account` (or system type "Household Account"). */
export function isNpspHousehold(a: NpspAccount): boolean {
  return a.RecordType?.DeveloperName === 'HH_Account' || a.npe01__SYSTEM_AccountType__c === 'Household Account';
}

/** Salesforce ids compare on their case-sensitive 15-character form (18-character ids add a checksum). */
export function sameSalesforceId(a: string | null | undefined, b: string | null | undefined): boolean {
  return Boolean(a && b) && a!.slice(0, 15) === b!.slice(0, 15);
}

/** NPSP: `Contact.AccountId` names the household when it is a Household Account; its primary contact is the head. */
export function npspHousehold(contactId: string, account: NpspAccount | undefined, optIn: unknown): HouseholdLink {
  if (!account || !isNpspHousehold(account)) return { household: null, role: 'member', opt_in: parseOptIn(optIn) };
  const head = sameSalesforceId(account.npe01__One2OneContact__c, contactId);
  return { household: { external_id: account.Id, name: account.Name ?? null }, role: head ? 'head' : 'member', opt_in: parseOptIn(optIn) };
}

/** The slice of a Zoho Account the mapping reads (lookups are `{ id, name }`). */
export interface ZohoAccount {
  id: string;
  Account_Name?: string | null;
  Account_Type?: string | null;
  [field: string]: unknown;
}

/** Zoho: the contact's Account is the household (when its Account_Type matches, if one is configured); the Account's primary-contact lookup is the head. */
export function zohoHousehold(contactId: string, account: ZohoAccount | undefined, cfg: { household_account_type: string | null; primary_contact_field: string }, optIn: unknown): HouseholdLink {
  if (!account || (cfg.household_account_type !== null && account.Account_Type !== cfg.household_account_type)) return { household: null, role: 'member', opt_in: parseOptIn(optIn) };
  const primary = account[cfg.primary_contact_field] as { id?: string } | string | null | undefined;
  const headId = typeof primary === 'string' ? primary : primary?.id;
  return { household: { external_id: account.id, name: account.Account_Name ?? null }, role: headId === contactId ? 'head' : 'member', opt_in: parseOptIn(optIn) };
}

/** Numeric ids (HubSpot) in numeric order, others as strings: a stable choice when several qualify. */
function compareIds(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  return Number.isFinite(x) && Number.isFinite(y) ? x - y : String(a).localeCompare(String(b));
}
