import { salesforceConnection, type SalesforceAuthDeps } from './auth.ts';
import { householdsRenewing } from '../common/renewing.ts';
import { npspHousehold, type NpspAccount } from './household-mapping.ts';
import { withPullRetries, type PullRetryOptions } from '../pull-retry.ts';
import type {
  CanonicalEvent,
  DeliveryResult,
  HouseholdLink,
  HouseholdSource,
  InboundEvent,
  OptInWritePayload,
  OutboundJob,
  PulledContact,
} from '../../canonical/types.ts';
import { mapError } from './mapping.ts';
import type { SalesforceConfig } from './config.ts';

/** The slice of jsforce's Connection the household reads and opt-in writes use. */
export interface SfHouseholdConnection {
  query<T>(soql: string): Promise<{ records: T[] }>;
  sobject(type: string): {
    update(
      records: Record<string, unknown>[],
      opts?: { allOrNone?: boolean },
    ): Promise<
      { id?: string; success: boolean; errors: { statusCode?: string; errorCode?: string; message: string }[] }[]
    >;
  };
}

const ACCOUNT_FIELDS = 'Id, Name, RecordType.DeveloperName, npe01__SYSTEM_AccountType__c, npe01__One2OneContact__c';
const SF_ID = /^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$/;

/**
 * NPSP households of a page of contacts: the pull reads each Contact's `AccountId`; one SOQL
 * query per 200 accounts reads their record type and primary contact (`npe01__One2OneContact__c`).
 */
export function createSalesforceHouseholds(
  cfg: SalesforceConfig,
  o: { opt_in_property: string; retry?: PullRetryOptions },
  conn?: SfHouseholdConnection,
  deps: SalesforceAuthDeps = {},
): HouseholdSource {
  if (!conn) {
    const live = salesforceConnection(cfg, deps);
    return householdsRenewing(
      npspHouseholds(cfg, o, live.conn as unknown as SfHouseholdConnection),
      live.cred,
      live.use,
    );
  }
  return npspHouseholds(cfg, o, conn);
}

function npspHouseholds(
  cfg: SalesforceConfig,
  o: { opt_in_property: string; retry?: PullRetryOptions },
  conn: SfHouseholdConnection,
): HouseholdSource {
  return {
    async householdsOf(contacts: readonly PulledContact[]): Promise<Map<string, HouseholdLink>> {
      const ids = [
        ...new Set(
          contacts.map((c) => c.properties.AccountId).filter((id): id is string => Boolean(id) && SF_ID.test(id!)),
        ),
      ];
      const accounts = new Map<string, NpspAccount>();
      for (let i = 0; i < ids.length; i += 200) {
        const list = ids
          .slice(i, i + 200)
          .map((id) => `'${id}'`)
          .join(',');
        const res = await withPullRetries(
          () => conn.query<NpspAccount>(`SELECT ${ACCOUNT_FIELDS} FROM Account WHERE Id IN (${list})`),
          mapError,
          o.retry,
        );
        for (const a of res.records) accounts.set(a.Id.slice(0, 15), a);
      }
      const out = new Map<string, HouseholdLink>();
      for (const c of contacts) {
        const accountId = c.properties.AccountId;
        out.set(
          c.external_id,
          npspHousehold(
            c.external_id,
            accountId ? accounts.get(accountId.slice(0, 15)) : undefined,
            c.properties[o.opt_in_property],
          ),
        );
      }
      return out;
    },
  };
}

/** `crm.opt_in_write`: the opt-in checkbox of each Contact, as one sObject Collections update. */
export async function deliverOptIns(conn: SfHouseholdConnection, jobs: OutboundJob[]): Promise<DeliveryResult[]> {
  const payloads = jobs.map((j) => j.payload as OptInWritePayload);
  try {
    const saved = await conn.sobject('Contact').update(
      payloads.map((p) => ({ Id: p.external_id, [p.property]: p.opt_in })),
      { allOrNone: false },
    );
    return payloads.map((p, k) => {
      const s = saved[k];
      if (s?.success) return { ok: true, external_id: p.external_id, written: { [p.property]: String(p.opt_in) } };
      const first = s?.errors[0];
      return mapError({
        errorCode: first?.statusCode ?? first?.errorCode ?? '',
        message: first?.message ?? 'no result for this record',
      });
    });
  } catch (err) {
    return jobs.map(() => mapError(err));
  }
}

export function optInExpectedWrite(job: OutboundJob): { external_id: string; written: Record<string, string | null> } {
  const p = job.payload as OptInWritePayload;
  return { external_id: p.external_id, written: { [p.property]: String(p.opt_in) } };
}

/**
 * A ContactChangeEvent that sets or clears `AccountId`: the contact moved to that account (in
 * NPSP, its household) or left it. The account's record type and primary contact are not in the
 * event; the apply joins it as a member (keeping a head's role when they stay) and the next pull
 * settles type and head.
 */
export function accountChange(
  e: Record<string, unknown>,
  nulled: readonly string[],
  contactId: string,
  ours: boolean,
  occurredAt: number,
): CanonicalEvent | null {
  const base = {
    type: 'household.changed' as const,
    source: 'salesforce' as const,
    external_id: contactId,
    contact: {},
    origin_is_hearth: ours,
    occurred_at: occurredAt,
  };
  if (nulled.includes('AccountId') || ('AccountId' in e && !e.AccountId)) return { ...base, left: '*' };
  if (typeof e.AccountId === 'string' && e.AccountId)
    return { ...base, joined: { household_external_id: e.AccountId, role: null, primary: true } };
  return null;
}

/**
 * An AccountChangeEvent naming a new primary contact (`npe01__One2OneContact__c`): that contact
 * becomes the head of the household (the apply step makes the former head a member). Any other
 * Account change carries no membership fact.
 */
export function primaryContactChange(
  e: Record<string, unknown>,
  accountIds: string[],
  delivery: string,
  ours: boolean,
  occurredAt: number,
): InboundEvent[] {
  const head = e.npe01__One2OneContact__c;
  if (typeof head !== 'string' || !head)
    return [
      { delivery_id: delivery, event: { type: 'unsupported', source: 'salesforce', vendor_type: 'Account.UPDATE' } },
    ];
  return accountIds.map((accountId, k) => ({
    delivery_id: accountIds.length > 1 ? `${delivery}:${k}` : delivery,
    event: {
      type: 'household.changed',
      source: 'salesforce',
      external_id: head,
      contact: {},
      joined: { household_external_id: accountId, role: 'head', primary: true },
      origin_is_hearth: ours,
      occurred_at: occurredAt,
    },
  }));
}
