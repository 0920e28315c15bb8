import { optInValue } from '../../canonical/opt-in.ts';
import { zohoHousehold, type ZohoAccount } from './household-mapping.ts';
import { scrubSecrets } from '../../log.ts';
import { kindOfStatus, parseRetryAfter } from '../common/http.ts';
import { DEFAULT_TIMEOUT_MS } from '../common/timeout.ts';
import { deliverByKind } from '../deliver-by-kind.ts';
import { withPullRetries, type PullRetryOptions } from '../pull-retry.ts';
import type { Logger } from '../../log.ts';
import type { FetchLike } from '../common/http.ts';
import type { TokenStore } from '../common/credentials-store.ts';
import {
  createCredential,
  credentialFor,
  credentialSpec,
  type Credential,
  type CredentialConfig,
} from '../common/credentials.ts';
import { householdsRenewing, saysUnauthorized, withRenewal, type TokenUse } from '../common/renewing.ts';
import type {
  CanonicalContact,
  Connector,
  ContactSource,
  DeliveryResult,
  HouseholdLink,
  HouseholdSource,
  OptInWritePayload,
  OutboundJob,
  PulledContact,
  PullPage,
} from '../../canonical/types.ts';

export interface ZohoConfig extends CredentialConfig {
  base_url: string;
  /** The data centre's accounts server (token endpoint); default derived from `base_url`. */
  accounts_url?: string | undefined;
  household_account_type: string | null;
  primary_contact_field: string;
  timeout_ms?: number | undefined;
}

/** The slice of fetch the connector uses (tests and the sim pass their own). */
export type ZohoFetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

export interface ZohoDeps {
  fetch?: ZohoFetch;
  now?: () => number;
  retry?: PullRetryOptions;
  logger?: Logger;
  tokens?: TokenStore | undefined;
}

/** A holder the caller reads the current token from (the credential puts it there). */
interface TokenHolder {
  token: string;
}

/**
 * Zoho's accounts server for a data centre: `www.zohoapis.<tld>` → `accounts.zoho.<tld>`; any
 * other base (a simulator, a proxy) serves its own token endpoint.
 */
export function zohoAccountsUrl(cfg: Pick<ZohoConfig, 'base_url' | 'accounts_url'>): string {
  if (cfg.accounts_url) return cfg.accounts_url.replace(/\/$/, '');
  const u = new URL(cfg.base_url);
  const m = /^(?:www\.)?zohoapis\.(.+)$/.exec(u.hostname);
  return m ? `https://accounts.zoho.${m[1]}` : u.origin;
}

/** The connector's credential: Zoho access tokens last an hour; the refresh token does not rotate. */
export function zohoCredential(cfg: ZohoConfig, deps: ZohoDeps = {}): Credential {
  return credentialFor(cfg, () =>
    createCredential(credentialSpec(cfg, { token_url: `${zohoAccountsUrl(cfg)}/oauth/v2/token` }), {
      connector: 'zoho',
      fetch: deps.fetch as FetchLike | undefined,
      now: deps.now,
      logger: deps.logger,
      store: deps.tokens,
    }),
  );
}

const STANDARD_FIELDS = [
  'First_Name',
  'Last_Name',
  'Email',
  'Phone',
  'Mailing_Street',
  'Mailing_City',
  'Mailing_State',
  'Mailing_Zip',
  'Mailing_Country',
  'Modified_Time',
] as const;
const MAX_PAGE = 200;

/** A failed Zoho call, carrying the neutral failure it maps to. */
class ZohoCallError extends Error {
  readonly failure: Extract<DeliveryResult, { ok: false }>;
  constructor(failure: Extract<DeliveryResult, { ok: false }>) {
    super(failure.message);
    this.failure = failure;
  }
}

/**
 * Zoho CRM (REST v2, `Authorization: Zoho-oauthtoken`) with fetch: paged Contacts reads for
 * pulls, and the household opt-in write-back (`PUT /crm/v2/Contacts`, 100 records a call).
 */
export function createZohoConnector(cfg: ZohoConfig, deps: ZohoDeps = {}): Connector {
  const holder: TokenHolder = { token: cfg.access_token ?? '' };
  const call = zohoCaller(cfg, deps, holder);
  return withRenewal(zohoCore(call, deps), zohoCredential(cfg, deps), tokenUse(holder));
}

const tokenUse = (holder: TokenHolder): TokenUse => ({
  apply: (t) => {
    holder.token = t;
  },
  unauthorized: saysUnauthorized,
});

function zohoCore(call: Call, deps: ZohoDeps): Connector {
  return {
    id: 'zoho',
    maxBatch: 100,
    source: createZohoSource(call, deps.retry),
    outbound: {
      kinds: ['crm.opt_in_write'],
      deliver: (jobs) => deliverByKind(jobs, { 'crm.opt_in_write': (js) => deliverOptIns(call, js) }),
      expectedWrites: (job) => {
        const p = job.payload as OptInWritePayload;
        return { external_id: p.external_id, written: { [p.property]: optInValue(p.opt_in) } };
      },
    },
  };
}

type Call = (method: string, path: string, body?: unknown) => Promise<any>;

function zohoCaller(cfg: ZohoConfig, deps: ZohoDeps, holder: TokenHolder): Call {
  const send = deps.fetch ?? (globalThis.fetch as unknown as ZohoFetch);
  const now = deps.now ?? Date.now;
  const base = cfg.base_url.replace(/\/$/, '');
  return async (method, path, body) => {
    let res: Awaited<ReturnType<ZohoFetch>>;
    try {
      res = await send(`${base}${path}`, {
        method,
        headers: { authorization: `Zoho-oauthtoken ${holder.token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(cfg.timeout_ms ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (err) {
      throw new ZohoCallError({
        ok: false,
        kind: 'transient',
        message: scrubSecrets(`Zoho unreachable: ${(err as Error).message}`),
      });
    }
    const text = await res.text();
    // 204: a list with no records.
    if (res.status === 204) return {};
    if (res.status >= 400) throw new ZohoCallError(mapStatus(res.status, text, res.headers.get('retry-after'), now));
    return text ? JSON.parse(text) : {};
  };
}

export function mapStatus(
  status: number,
  body: string,
  retryAfter: string | null,
  now: () => number,
): Extract<DeliveryResult, { ok: false }> {
  const message = scrubSecrets(`Zoho ${status}: ${body.slice(0, 400)}`);
  const kind = kindOfStatus(status);
  if (kind !== 'rate_limited') return { ok: false, kind, message };
  // Zoho's limits are per minute: without a Retry-After, wait one.
  return { ok: false, kind, message, retry_after_ms: parseRetryAfter(retryAfter, now) ?? 60_000 };
}

const classify = (err: unknown) =>
  err instanceof ZohoCallError ? err.failure : { ok: false as const, kind: 'unknown' as const, message: String(err) };

/** `GET /crm/v2/Contacts?fields=...&per_page=&page=`: the cursor is the next page number. */
function createZohoSource(call: Call, retry?: PullRetryOptions): ContactSource {
  return {
    async listContacts(cursor, opts): Promise<PullPage> {
      const fields = [...new Set([...STANDARD_FIELDS, ...(opts.extra_properties ?? [])])];
      const page = Number(cursor ?? '1') || 1;
      const perPage = Math.max(1, Math.min(MAX_PAGE, opts.limit));
      const res = await withPullRetries(
        () =>
          call(
            'GET',
            `/crm/v2/Contacts?fields=${encodeURIComponent(fields.join(','))}&per_page=${perPage}&page=${page}`,
          ),
        classify,
        retry,
      );
      const records = ((res.data ?? []) as Record<string, unknown>[]).map((r) => pulledContact(r, fields));
      return { records, next_cursor: res.info?.more_records ? String(page + 1) : null };
    },
  };
}

function pulledContact(r: Record<string, unknown>, fields: readonly string[]): PulledContact {
  // Lookups (`Account_Name: { id, name }`) are kept as their record id.
  const props = Object.fromEntries(fields.map((f) => [f, scalar(r[f])]));
  const t = props.Modified_Time ? Date.parse(props.Modified_Time) : NaN;
  return {
    external_id: String(r.id),
    contact: contactFromFields(props),
    properties: props,
    updated_at: Number.isNaN(t) ? null : t,
  };
}

function scalar(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'object') return (v as { id?: string }).id ?? null;
  return String(v);
}

export function contactFromFields(f: Record<string, string | null>): CanonicalContact {
  const c: CanonicalContact = {
    given_name: f.First_Name ?? null,
    family_name: f.Last_Name ?? null,
    email: f.Email ?? null,
    phone: f.Phone ?? null,
  };
  if (f.Mailing_Street || f.Mailing_City)
    c.address = {
      line1: f.Mailing_Street ?? '',
      line2: null,
      city: f.Mailing_City ?? null,
      region: f.Mailing_State ?? null,
      postal_code: f.Mailing_Zip ?? null,
      country: f.Mailing_Country ?? null,
    };
  return c;
}

/**
 * Account-as-household for a page of contacts: one `GET /crm/v2/Accounts?ids=` per 100 accounts
 * reads their type and primary-contact lookup.
 */
export function createZohoHouseholds(
  cfg: ZohoConfig,
  o: { opt_in_property: string },
  deps: ZohoDeps = {},
): HouseholdSource {
  const holder: TokenHolder = { token: cfg.access_token ?? '' };
  const call = zohoCaller(cfg, deps, holder);
  const fields = ['Account_Name', 'Account_Type', cfg.primary_contact_field].join(',');
  const reader: HouseholdSource = {
    async householdsOf(contacts: readonly PulledContact[]): Promise<Map<string, HouseholdLink>> {
      const ids = [
        ...new Set(
          contacts.map((c) => c.properties.Account_Name).filter((id): id is string => Boolean(id) && /^\d+$/.test(id!)),
        ),
      ];
      const accounts = new Map<string, ZohoAccount>();
      for (let i = 0; i < ids.length; i += 100) {
        const res = await withPullRetries(
          () =>
            call('GET', `/crm/v2/Accounts?ids=${ids.slice(i, i + 100).join(',')}&fields=${encodeURIComponent(fields)}`),
          classify,
          deps.retry,
        );
        for (const a of (res.data ?? []) as ZohoAccount[]) accounts.set(String(a.id), a);
      }
      const out = new Map<string, HouseholdLink>();
      for (const c of contacts) {
        const account = c.properties.Account_Name ? accounts.get(c.properties.Account_Name) : undefined;
        out.set(c.external_id, zohoHousehold(c.external_id, account, cfg, c.properties[o.opt_in_property]));
      }
      return out;
    },
  };
  return householdsRenewing(reader, zohoCredential(cfg, deps), tokenUse(holder));
}

/** `PUT /crm/v2/Contacts` with `{ data: [{ id, <opt-in>: ... }] }`; per-record results in order. */
async function deliverOptIns(call: Call, jobs: OutboundJob[]): Promise<DeliveryResult[]> {
  const payloads = jobs.map((j) => j.payload as OptInWritePayload);
  try {
    const res = await call('PUT', '/crm/v2/Contacts', {
      data: payloads.map((p) => ({ id: p.external_id, [p.property]: p.opt_in })),
      trigger: [],
    });
    const rows = (res.data ?? []) as { code?: string; status?: string; message?: string }[];
    return payloads.map((p, k): DeliveryResult => {
      const r = rows[k];
      if (r?.status === 'success')
        return { ok: true, external_id: p.external_id, written: { [p.property]: optInValue(p.opt_in) } };
      return {
        ok: false,
        kind: r?.code === 'INVALID_DATA' || r?.code === 'MANDATORY_NOT_FOUND' ? 'invalid' : 'not_found',
        message: scrubSecrets(`Zoho ${r?.code ?? 'no result'}: ${r?.message ?? ''}`),
      };
    });
  } catch (err) {
    return jobs.map(() => classify(err));
  }
}
