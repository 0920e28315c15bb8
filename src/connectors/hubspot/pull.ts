import type { Client } from '@hubspot/api-client';
import { orNullIfMissing, withPullRetries, type PullRetryOptions } from '../pull-retry.ts';
import type { ContactSource, PulledContact, PullPage } from '../../canonical/types.ts';
import { contactFromFields, mapError } from './mapping.ts';

/** The standard contact properties every pull reads; `extra_properties` adds to them. */
export const STANDARD_PROPERTIES = [
  'firstname',
  'lastname',
  'email',
  'phone',
  'address',
  'city',
  'state',
  'zip',
  'country',
] as const;
// HubSpot's list endpoint returns at most 100 contacts a page.
const MAX_PAGE = 100;

/** The slice of a listed contact the pull reads. */
interface ListedContact {
  id: string;
  properties: Record<string, string | null>;
  updatedAt?: Date;
}

/**
 * Paged reads of HubSpot contacts (`GET /crm/v3/objects/contacts` via `basicApi.getPage`); the
 * cursor is HubSpot's `paging.next.after`. A 429 is waited out with its Retry-After inside.
 */
export function createHubSpotSource(client: Client, now: () => number, retry: PullRetryOptions = {}): ContactSource {
  return {
    async listContacts(cursor, opts): Promise<PullPage> {
      const properties = [...new Set([...STANDARD_PROPERTIES, 'lastmodifieddate', ...(opts.extra_properties ?? [])])];
      const limit = Math.max(1, Math.min(MAX_PAGE, opts.limit));
      const page = await withPullRetries(
        () => client.crm.contacts.basicApi.getPage(limit, cursor ?? undefined, properties, undefined, undefined, false),
        (err) => mapError(err, now),
        retry,
      );
      return {
        records: page.results.map((c) => pulledContact(c, properties)),
        next_cursor: page.paging?.next?.after ?? null,
      };
    },
    async getContact(id, opts) {
      const properties = [...new Set([...STANDARD_PROPERTIES, 'lastmodifieddate', ...(opts.extra_properties ?? [])])];
      // One call: the job that asked for the contact retries with the outbox's own backoff.
      return orNullIfMissing(() =>
        withPullRetries(
          () => client.crm.contacts.basicApi.getById(id, properties),
          (err) => mapError(err, now),
          { ...retry, max_attempts: 1 },
        ).then((c) => pulledContact(c, properties)),
      );
    },
  };
}

function pulledContact(c: ListedContact, asked: readonly string[]): PulledContact {
  const props: Record<string, string | null> = Object.fromEntries(asked.map((p) => [p, c.properties[p] ?? null]));
  const standard = Object.fromEntries(STANDARD_PROPERTIES.map((p) => [p, props[p] ?? null]));
  return {
    external_id: c.id,
    contact: contactFromFields(standard),
    properties: props,
    updated_at: updatedAt(props.lastmodifieddate, c.updatedAt),
  };
}

function updatedAt(prop: string | null | undefined, fallback: Date | undefined): number | null {
  const t = prop ? Date.parse(prop) : NaN;
  if (!Number.isNaN(t)) return t;
  return fallback instanceof Date && !Number.isNaN(fallback.getTime()) ? fallback.getTime() : null;
}
