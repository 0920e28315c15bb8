import type { HouseholdLink } from '../../canonical/types.ts';
import { parseOptIn } from '../../canonical/opt-in.ts';

/** Pure mapping of HubSpot's household models (company, labelled contact pairs) to one `HouseholdLink`. */

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
export function hubspotCompanyHousehold(
  companies: readonly HubSpotAssociation[],
  names: ReadonlyMap<string, string | null>,
  headLabels: readonly string[],
  optIn: unknown,
): HouseholdLink {
  const primary = companies.find((a) =>
    a.associationTypes.some((t) => t.category === 'HUBSPOT_DEFINED' && t.typeId === HUBSPOT_PRIMARY_COMPANY_TYPE),
  );
  const chosen = primary ?? [...companies].sort((a, b) => compareIds(a.toObjectId, b.toObjectId))[0];
  if (!chosen) return { household: null, role: 'member', opt_in: parseOptIn(optIn) };
  const id = String(chosen.toObjectId);
  return {
    household: { external_id: id, name: names.get(id) ?? null },
    role: hasLabel(chosen, headLabels) ? 'head' : 'member',
    opt_in: parseOptIn(optIn),
  };
}

/**
 * Contact-to-contact labels: on contact A's association to B, the label names B's role for A.
 * B labelled "Head of household" -> A is a member of B's household; B labelled "Household member"
 * -> A heads the household. The household is keyed by its head: `contact:<head id>`.
 */
export function hubspotLabelHousehold(
  contactId: string,
  contacts: readonly HubSpotAssociation[],
  labels: { head: readonly string[]; member: readonly string[] },
  optIn: unknown,
): HouseholdLink {
  const head = [...contacts]
    .sort((a, b) => compareIds(a.toObjectId, b.toObjectId))
    .find((a) => hasLabel(a, labels.head));
  if (head)
    return {
      household: { external_id: `contact:${head.toObjectId}`, name: null },
      role: 'member',
      opt_in: parseOptIn(optIn),
    };
  if (contacts.some((a) => hasLabel(a, labels.member)))
    return { household: { external_id: `contact:${contactId}`, name: null }, role: 'head', opt_in: parseOptIn(optIn) };
  return { household: null, role: 'member', opt_in: parseOptIn(optIn) };
}

/** Numeric ids (HubSpot) in numeric order, others as strings: a stable choice when several qualify. */
function compareIds(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  return Number.isFinite(x) && Number.isFinite(y) ? x - y : String(a).localeCompare(String(b));
}
