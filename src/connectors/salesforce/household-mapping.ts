import type { HouseholdLink } from '../../canonical/types.ts';
import { parseOptIn } from '../../canonical/opt-in.ts';

/** Pure mapping of the NPSP Household Account model to one `HouseholdLink`. */

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
  return {
    household: { external_id: account.Id, name: account.Name ?? null },
    role: head ? 'head' : 'member',
    opt_in: parseOptIn(optIn),
  };
}
