import { HearthError } from '../../errors.ts';
import { withPullRetries, type PullRetryOptions } from '../pull-retry.ts';
import type { ContactSource, PulledContact, PullPage } from '../../canonical/types.ts';
import { contactFromFields, mapError } from './mapping.ts';

/** The standard Contact fields every pull reads; `extra_properties` adds to them. */
export const STANDARD_FIELDS = [
  'FirstName',
  'LastName',
  'Email',
  'Phone',
  'MailingStreet',
  'MailingCity',
  'MailingState',
  'MailingPostalCode',
  'MailingCountry',
] as const;
// Salesforce pages a query 200..2000 records (default 2000); it may return more than asked.
const MAX_BATCH = 2000;
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]*(__c)?$/;
const SF_ID = /^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$/;

type SfRecord = Record<string, unknown> & { Id: string };
interface SfQueryResult {
  records: SfRecord[];
  done?: boolean;
  nextRecordsUrl?: string;
}
type QueryOptions = { autoFetch: false; headers: Record<string, string> };

/** The slice of jsforce's Connection a pull uses. */
export interface SfReader {
  query(soql: string, options: QueryOptions): PromiseLike<unknown>;
  queryMore(locator: string, options: QueryOptions): PromiseLike<unknown>;
}

/**
 * Paged reads of Salesforce Contacts: one SOQL query over the standard fields, then `queryMore`
 * on the `nextRecordsUrl` Salesforce returns until `done`. The cursor is that URL (a query
 * locator, which Salesforce expires after about 15 minutes idle).
 */
export function createSalesforceSource(conn: SfReader, retry: PullRetryOptions = {}): ContactSource {
  return {
    async listContacts(cursor, opts): Promise<PullPage> {
      const fields = [
        ...new Set([...STANDARD_FIELDS, 'LastModifiedDate', ...(opts.extra_properties ?? []).map(fieldName)]),
      ];
      const options: QueryOptions = {
        autoFetch: false,
        headers: { 'Sforce-Query-Options': `batchSize=${Math.max(1, Math.min(MAX_BATCH, opts.limit))}` },
      };
      const call = () =>
        cursor ? conn.queryMore(cursor, options) : conn.query(`SELECT Id, ${fields.join(', ')} FROM Contact`, options);
      const res = await withPullRetries(async () => (await call()) as SfQueryResult, mapError, retry);
      return {
        records: res.records.map((r) => pulledContact(r, fields)),
        next_cursor: !res.done && res.nextRecordsUrl ? res.nextRecordsUrl : null,
      };
    },
    async getContact(id, opts) {
      if (!SF_ID.test(id))
        throw new HearthError('bad_request', `not a Salesforce record id: ${JSON.stringify(id)}`, {
          field: 'external_id',
        });
      const fields = [
        ...new Set([...STANDARD_FIELDS, 'LastModifiedDate', ...(opts.extra_properties ?? []).map(fieldName)]),
      ];
      const options: QueryOptions = { autoFetch: false, headers: {} };
      const res = await withPullRetries(
        async () =>
          (await conn.query(
            `SELECT Id, ${fields.join(', ')} FROM Contact WHERE Id = '${id}'`,
            options,
          )) as SfQueryResult,
        mapError,
        { ...retry, max_attempts: 1 },
      );
      return res.records[0] ? pulledContact(res.records[0], fields) : null;
    },
  };
}

function fieldName(f: string): string {
  if (!FIELD_NAME.test(f))
    throw new HearthError('bad_request', `not a Salesforce field name: ${JSON.stringify(f)}`, {
      field: 'extra_properties',
    });
  return f;
}

function pulledContact(r: SfRecord, fields: readonly string[]): PulledContact {
  const props: Record<string, string | null> = Object.fromEntries(
    fields.map((f) => [f, r[f] === undefined || r[f] === null ? null : String(r[f])]),
  );
  const standard = Object.fromEntries(STANDARD_FIELDS.map((f) => [f, props[f] ?? null]));
  const t = props.LastModifiedDate ? Date.parse(props.LastModifiedDate) : NaN;
  return {
    external_id: r.Id,
    contact: contactFromFields(standard),
    properties: props,
    updated_at: Number.isNaN(t) ? null : t,
  };
}
