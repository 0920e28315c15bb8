import { Client } from '@hubspot/api-client';
import { optInValue } from '../../canonical/opt-in.ts';
import { hubspotCompanyHousehold, hubspotLabelHousehold, type HubSpotAssociation } from './household-mapping.ts';
import { HearthError } from '../../errors.ts';
import { scrubSecrets } from '../../log.ts';
import { withPullRetries, type PullRetryOptions } from '../pull-retry.ts';
import type {
  DeliveryResult,
  HouseholdLink,
  InboundEvent,
  HouseholdSource,
  OptInWritePayload,
  OutboundJob,
  PulledContact,
} from '../../canonical/types.ts';
import { mapError } from './mapping.ts';

export interface HubSpotHouseholdOptions {
  mode: 'company' | 'contact_labels';
  opt_in_property: string;
  head_labels: readonly string[];
  member_labels: readonly string[];
  retry?: PullRetryOptions;
}

/** The slice of the SDK the household reads use. */
interface AssocBatch {
  results: {
    _from: { id: string };
    to: {
      toObjectId: string | number;
      associationTypes: { category: string; typeId: number; label?: string | null }[];
    }[];
  }[];
}

/**
 * Household relationships of a page of contacts, in two or three batch calls: the contacts'
 * associations (v4 batch read: to companies, or to contacts for labelled pairs) and, for
 * company-as-household, the chosen companies' names.
 */
export function createHubSpotHouseholds(
  client: Client,
  o: HubSpotHouseholdOptions,
  now: () => number = Date.now,
): HouseholdSource {
  const retried = <T>(call: () => Promise<T>) => withPullRetries(call, (err) => mapError(err, now), o.retry);
  return {
    async householdsOf(contacts: readonly PulledContact[]): Promise<Map<string, HouseholdLink>> {
      const out = new Map<string, HouseholdLink>();
      if (contacts.length === 0) return out;
      const toType = o.mode === 'company' ? 'companies' : 'contacts';
      const assocs = await retried(() =>
        readAssociations(
          client,
          contacts.map((c) => c.external_id),
          toType,
        ),
      );
      const names =
        o.mode === 'company' ? await retried(() => companyNames(client, assocs)) : new Map<string, string | null>();
      for (const c of contacts) {
        const list = assocs.get(c.external_id) ?? [];
        const optIn = c.properties[o.opt_in_property];
        out.set(
          c.external_id,
          o.mode === 'company'
            ? hubspotCompanyHousehold(list, names, o.head_labels, optIn)
            : hubspotLabelHousehold(c.external_id, list, { head: o.head_labels, member: o.member_labels }, optIn),
        );
      }
      return out;
    },
  };
}

/** `POST /crm/v4/associations/contacts/{toType}/batch/read`, at most 1000 inputs a call. */
async function readAssociations(
  client: Client,
  ids: string[],
  toType: string,
): Promise<Map<string, HubSpotAssociation[]>> {
  const out = new Map<string, HubSpotAssociation[]>();
  for (let i = 0; i < ids.length; i += 1000) {
    const res = (await client.crm.associations.v4.batchApi.getPage('contacts', toType, {
      inputs: ids.slice(i, i + 1000).map((id) => ({ id })),
    })) as unknown as AssocBatch;
    for (const r of res.results ?? []) {
      out.set(
        String(r._from.id),
        r.to.map((t) => ({ toObjectId: String(t.toObjectId), associationTypes: t.associationTypes })),
      );
    }
  }
  return out;
}

/** Names of every company the page's contacts are associated with (`companies/batch/read`). */
async function companyNames(
  client: Client,
  assocs: Map<string, HubSpotAssociation[]>,
): Promise<Map<string, string | null>> {
  const ids = [...new Set([...assocs.values()].flat().map((a) => a.toObjectId))];
  const out = new Map<string, string | null>();
  for (let i = 0; i < ids.length; i += 100) {
    const res = await client.crm.companies.batchApi.read({
      inputs: ids.slice(i, i + 100).map((id) => ({ id })),
      properties: ['name'],
      propertiesWithHistory: [],
    });
    for (const c of res.results) out.set(c.id, c.properties.name ?? null);
  }
  return out;
}

/** `crm.opt_in_write`: the opt-in property of each contact, one PATCH each (the CRM stays the record). */
export async function deliverOptIns(client: Client, jobs: OutboundJob[], now: () => number): Promise<DeliveryResult[]> {
  const results: DeliveryResult[] = [];
  for (const job of jobs) {
    const p = job.payload as OptInWritePayload;
    const properties = { [p.property]: optInValue(p.opt_in) };
    try {
      await client.crm.contacts.basicApi.update(p.external_id, { properties });
      results.push({ ok: true, external_id: p.external_id, written: properties });
    } catch (err) {
      const f = mapError(err, now);
      results.push({ ...f, message: scrubSecrets(f.message) });
    }
  }
  return results;
}

export function optInExpectedWrite(job: OutboundJob): { external_id: string; written: Record<string, string | null> } {
  const p = job.payload as OptInWritePayload;
  return { external_id: p.external_id, written: { [p.property]: optInValue(p.opt_in) } };
}

/** The fields of a `contact.associationChange` webhook event the household flow reads. */
export interface AssociationChangeEvent {
  eventId?: number;
  occurredAt?: number;
  associationType?: string;
  fromObjectId?: number | string;
  toObjectId?: number | string;
  associationRemoved?: boolean;
  isPrimaryAssociation?: boolean;
  changeSource?: string;
  sourceId?: string;
}

/**
 * A contact's company association changed: joining (the company is the household; a primary
 * association replaces the current one) or leaving that company. A removed contact-to-contact
 * pair leaves the household keyed by the other contact (`contact:<id>`, labelled-pair mode).
 * Other changes carry no household fact a webhook can settle: unsupported; a pull reads them.
 */
export function associationEvent(e: AssociationChangeEvent, i: number, appId: string | undefined): InboundEvent {
  for (const f of ['eventId', 'occurredAt'] as const) {
    if (e[f] === undefined || e[f] === null)
      throw new HearthError('bad_request', `hubspot event[${i}].${f} is required`, { field: `[${i}].${f}` });
  }
  const delivery_id = `${e.eventId}:${e.occurredAt}`;
  // A removed contact-to-contact pair ends a membership in the household keyed by that contact
  // (labelled-pair mode); an added pair carries no label in the event, so a pull reads it.
  const pairRemoved = e.associationType === 'CONTACT_TO_CONTACT' && e.associationRemoved === true;
  if (e.associationType !== 'CONTACT_TO_COMPANY' && !pairRemoved)
    return {
      delivery_id,
      event: {
        type: 'unsupported',
        source: 'hubspot',
        vendor_type: `contact.associationChange:${e.associationType ?? '?'}`,
      },
    };
  for (const f of ['fromObjectId', 'toObjectId'] as const) {
    if (e[f] === undefined || e[f] === null || e[f] === '')
      throw new HearthError('bad_request', `hubspot event[${i}].${f} is required`, { field: `[${i}].${f}` });
  }
  const company = pairRemoved ? `contact:${e.toObjectId}` : String(e.toObjectId);
  const ours = Boolean(appId) && (e.changeSource === 'INTEGRATION' || e.changeSource === 'API') && e.sourceId === appId;
  const base = {
    type: 'household.changed' as const,
    source: 'hubspot' as const,
    external_id: String(e.fromObjectId),
    contact: {},
    origin_is_hearth: ours,
    occurred_at: Number(e.occurredAt),
  };
  return {
    delivery_id,
    event: e.associationRemoved
      ? { ...base, left: company }
      : { ...base, joined: { household_external_id: company, role: null, primary: e.isPrimaryAssociation === true } },
  };
}
