import {
  PROFILE_PROJECT,
  type Connector,
  type DeliveryResult,
  type OutboundJob,
  type ProfileProjectPayload,
  type PulledContact,
} from '../../canonical/types.ts';
import type { FetchLike } from '../common/http.ts';
import { kindOfStatus, retryAfter } from '../common/http.ts';
import { addressOfRecord, parseZendeskEvent, userOf, vendorFieldsOf, type ZendeskUser } from './mapping.ts';
import { answerOf, lazyZendeskSdk, type ZendeskAnswer, type ZendeskSdk } from './sdk.ts';
import { verifyZendeskSignature } from './signature.ts';

export interface ZendeskConfig {
  subdomain?: string | undefined;
  email: string;
  api_token: string;
  base_url?: string | undefined;
  webhook_secret: string;
  tolerance_seconds: number;
  /** How often and how long to poll a `create_or_update_many` job status. */
  job_poll_ms: number;
  job_timeout_ms: number;
}

interface JobStatus {
  id: string;
  status: 'queued' | 'working' | 'failed' | 'completed' | 'killed';
  results?: { index?: number; id?: number; status?: string; email?: string; error?: string; details?: string }[];
}

/** A plain fetch request to the API root (the contacts list only: see `listContacts`). */
type Call = (method: string, path: string, body?: unknown) => Promise<ZendeskAnswer>;

/** The `node-zendesk` client, built on first use. */
type Sdk = () => Promise<ZendeskSdk>;

/** The API root: `base_url` (a simulator) or the account's subdomain. */
export function apiRoot(cfg: ZendeskConfig): string {
  return `${cfg.base_url ?? `https://${cfg.subdomain}.zendesk.com`}/api/v2`;
}

function client(cfg: ZendeskConfig, fetchFn: FetchLike): Call {
  const auth = `Basic ${Buffer.from(`${cfg.email}/token:${cfg.api_token}`).toString('base64')}`;
  return async (method, path, body) => {
    const res = await fetchFn(`${apiRoot(cfg)}${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json', accept: 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, retryAfter: res.headers.get('retry-after'), json: text ? JSON.parse(text) : null };
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls a job status until it ends (or the timeout, after which the batch is retried as a whole).
 * The first poll waits one interval too: a job just queued is never done yet, so asking at once
 * only costs a request (against the rate limit) per batch.
 */
async function awaitJob(sdk: Sdk, cfg: ZendeskConfig, id: string): Promise<JobStatus | { status: number }> {
  const until = Date.now() + cfg.job_timeout_ms;
  // Not the SDK's `jobstatuses.watch`: it has no timeout and polls from a second client.
  for (;;) {
    await sleep(cfg.job_poll_ms);
    const res = await answerOf((await sdk()).jobstatuses.show(id));
    if (res.status !== 200) return { status: res.status };
    const job = res.json.job_status as JobStatus;
    if (job.status !== 'queued' && job.status !== 'working') return job;
    if (Date.now() > until) return { status: 504 };
  }
}

type UserResult = NonNullable<JobStatus['results']>[number];

/** Whether Zendesk refused the user because another user holds the e-mail (`DuplicateValue`). */
export function isDuplicateEmail(r: Pick<UserResult, 'error' | 'details'>): boolean {
  return /DuplicateValue|already being used/i.test(`${r.error ?? ''} ${r.details ?? ''}`);
}

/**
 * The other user holding an e-mail (search by e-mail), so the review item can name it; null if
 * it cannot be found (the item is still queued, naming no user).
 */
async function holderOf(sdk: Sdk, u: ZendeskUser): Promise<string | null> {
  if (!u.email) return null;
  try {
    // The SDK throws on most error statuses; an answer it returns instead (one with
    // `Retry-After`, a 502...) comes back as an item without an `id`, and is skipped.
    const found = await (await sdk()).users.search({ query: `email:${u.email}` });
    const users = found.filter((x): x is ZendeskUser => typeof x === 'object' && x !== null && !(x instanceof Error));
    const other = users.find((x) => x.external_id !== u.external_id && x.id !== undefined);
    return other?.id === undefined ? null : String(other.id);
  } catch {
    return null;
  }
}

/**
 * A failed user settles alone: a duplicate e-mail is a person's decision (the job settles and
 * Hearth queues an identity review item naming the Zendesk user in the way: no dead letter, no
 * retry loop), anything else is retried; the others of the batch are done.
 */
async function settleUser(sdk: Sdk, r: UserResult | undefined, u: ZendeskUser): Promise<DeliveryResult> {
  if (!r) return { ok: false, kind: 'transient', message: 'zendesk: no result for this user in the job status' };
  if (r.status === 'Failed' || r.error) {
    if (!isDuplicateEmail(r))
      return { ok: false, kind: 'transient', message: `zendesk: ${r.error ?? 'failed'} ${r.details ?? ''}`.trim() };
    const holder = await holderOf(sdk, u);
    // The message goes to logs and the review item: it names the Zendesk user, never the e-mail.
    const owner = holder ? `Zendesk user ${holder}` : 'another user';
    const message = `zendesk DuplicateValue: the e-mail belongs to ${owner}`;
    return { ok: true, review: { reason: 'duplicate_email', holder_external_id: holder, message } };
  }
  const written = vendorFieldsOf(u);
  return r.id === undefined ? { ok: true, written } : { ok: true, external_id: String(r.id), written };
}

async function projectMany(
  sdk: Sdk,
  cfg: ZendeskConfig,
  jobs: OutboundJob<ProfileProjectPayload>[],
  now: () => number,
): Promise<DeliveryResult[]> {
  const users = jobs.map((j) => userOf(j.payload));
  const all = (r: DeliveryResult) => jobs.map(() => r);
  try {
    const res = await answerOf((await sdk()).users.createOrUpdateMany({ users }));
    if (res.status !== 200)
      return all({
        ok: false,
        kind: kindOfStatus(res.status),
        message: `zendesk ${res.status}`,
        ...retryAfter(res.retryAfter, now),
      });
    const job = await awaitJob(sdk, cfg, res.json.job_status.id);
    if (!('id' in job))
      return all({ ok: false, kind: kindOfStatus(job.status), message: `zendesk job status ${job.status}` });
    if (job.status !== 'completed') return all({ ok: false, kind: 'transient', message: `zendesk job ${job.status}` });
    const results = job.results ?? [];
    return await Promise.all(users.map((u, i) => settleUser(sdk, results.find((r) => r.index === i) ?? results[i], u)));
  } catch (err) {
    return all({ ok: false, kind: 'transient', message: `zendesk: ${(err as Error).message}` });
  }
}

function pulled(u: ZendeskUser & { id: number }): PulledContact {
  const [given, ...family] = (u.name ?? '').split(/\s+/).filter(Boolean);
  return {
    external_id: String(u.id),
    contact: {
      given_name: given ?? null,
      family_name: family.join(' ') || null,
      email: u.email ?? null,
      phone: u.phone ?? null,
      // Zendesk users have no address: the address of record is a user field Hearth writes.
      address: addressOfRecord(u.user_fields?.address_of_record),
    },
    properties: { name: u.name, phone: u.phone ?? null, external_id: u.external_id ?? null },
    updated_at: null,
  };
}

export function createZendeskConnector(
  cfg: ZendeskConfig,
  deps: { fetch?: FetchLike | undefined; now?: () => number },
) {
  const send = deps.fetch ?? (fetch as FetchLike);
  const call = client(cfg, send);
  // Writes, job statuses and searches go through node-zendesk, over the same fetch.
  const sdk = lazyZendeskSdk({ endpointUri: apiRoot(cfg), email: cfg.email, api_token: cfg.api_token }, send);
  const now = deps.now ?? Date.now;
  const connector: Connector = {
    id: 'zendesk',
    ingress: {
      verify: (req) =>
        verifyZendeskSignature(
          req.rawBody,
          req.headers['x-zendesk-webhook-signature'],
          req.headers['x-zendesk-webhook-signature-timestamp'],
          cfg.webhook_secret,
          req.now,
          cfg.tolerance_seconds,
        ),
      parse: (req) => parseZendeskEvent(req.rawBody, 'zendesk', req.now),
    },
    outbound: {
      kinds: [PROFILE_PROJECT],
      deliver: (jobs) => projectMany(sdk, cfg, jobs as OutboundJob<ProfileProjectPayload>[], now),
    },
    source: {
      // Plain fetch, not the SDK: for `GET /users` node-zendesk sets `page[size]=100` over the
      // caller's, so a pull could not ask for `opts.limit` users a page.
      async listContacts(cursor, opts) {
        const res = await call('GET', `/users.json?page[size]=${opts.limit}${cursor ? `&page[after]=${cursor}` : ''}`);
        if (res.status !== 200) throw new Error(`zendesk ${res.status}`);
        const meta = res.json.meta as { has_more?: boolean; after_cursor?: string | null } | undefined;
        return {
          records: (res.json.users as (ZendeskUser & { id: number })[]).map(pulled),
          next_cursor: meta?.has_more ? (meta.after_cursor ?? null) : null,
        };
      },
    },
    // create_or_update_many takes at most 100 users.
    maxBatch: 100,
  };
  return connector;
}
