import type { Client } from '@hubspot/api-client';
import { z } from 'zod';
import { HearthError } from '../../errors.ts';
import { sameDeliveryPoint } from '../../address/index.ts';
import type { PostalAddress } from '../../address/types.ts';
import type { Logger } from '../../log.ts';
import { scrubSecrets } from '../../log.ts';
import { hmacSha256, safeEqual } from '../hmac.ts';
import { hubspotClient } from './client.ts';
import { checkShape, MAX_TEXT, parseJsonBody, stripControl, vendorId, vendorText } from '../common/ingress.ts';
import type { FetchLike } from '../common/http.ts';
import {
  createCredential,
  credentialFor,
  credentialSpec,
  type Credential,
  type CredentialConfig,
} from '../common/credentials.ts';
import type { TokenStore } from '../common/credentials-store.ts';
import { saysUnauthorized, withRenewal, type TokenUse } from '../common/renewing.ts';
import { createHubSpotSource } from './pull.ts';
import { ADDRESS_PROPS, clearsOfChange, contactFromFields, mapError } from './mapping.ts';
import { associationEvent, deliverOptIns, optInExpectedWrite, type AssociationChangeEvent } from './households.ts';
import { CONTACT_FETCH, deliverContactFetches } from '../contact-fetch.ts';
import { deliverByKind } from '../deliver-by-kind.ts';
import { FIELDS_WRITE, vendorValues, type WritableField } from '../fields-write.ts';
import type {
  AddressWritePayload,
  Connector,
  DeliveryResult,
  InboundEvent,
  OutboundJob,
  VerifyResult,
  WebhookRequest,
} from '../../canonical/types.ts';

export interface HubSpotConfig extends CredentialConfig {
  base_url: string;
  client_secret?: string | undefined;
  app_id?: string | undefined;
  webhook_url?: string | undefined;
  timeout_ms?: number | undefined;
}

export interface HubSpotDeps {
  logger?: Logger;
  now?: () => number;
  fetch?: FetchLike | undefined;
  tokens?: TokenStore | undefined;
}

/** The connector's credential: a private-app token as is, or an OAuth app's refresh-token grant. */
export function hubspotCredential(cfg: HubSpotConfig, deps: HubSpotDeps = {}): Credential {
  const tokenUrl = `${cfg.base_url.replace(/\/$/, '')}/oauth/v1/token`;
  return credentialFor(cfg, () =>
    createCredential(credentialSpec(cfg, { token_url: tokenUrl }), {
      connector: 'hubspot',
      fetch: deps.fetch,
      now: deps.now,
      logger: deps.logger,
      store: deps.tokens,
    }),
  );
}

/** An SDK client whose token the credential sets before each call (SDK retries off: see below). */
export function hubspotRenewingClient(cfg: HubSpotConfig): { client: Client; use: TokenUse } {
  const client = hubspotClient({ ...cfg, access_token: cfg.access_token ?? '' });
  return { client, use: { apply: (t) => client.setAccessToken(t), unauthorized: saysUnauthorized } };
}

const REPLAY_WINDOW_MS = 5 * 60 * 1000;
const MAX_BATCH = 100;

/**
 * HubSpot CRM through the official SDK. Write-back targets the contact's standard address
 * properties; line 2 is folded into `address` because contacts have no second line. The client
 * (client.ts) leaves retries to the outbox and times out silent calls.
 */
export function createHubSpotConnector(cfg: HubSpotConfig, deps: HubSpotDeps = {}): Connector {
  const { client, use } = hubspotRenewingClient(cfg);
  return withRenewal(hubspotCore(cfg, client, deps), hubspotCredential(cfg, deps), use);
}

function hubspotCore(cfg: HubSpotConfig, client: Client, deps: HubSpotDeps): Connector {
  const now = deps.now ?? Date.now;
  const source = createHubSpotSource(client, now);
  const lookups = createLookupCache();
  return {
    id: 'hubspot',
    maxBatch: 100,
    source,
    outbound: {
      kinds: ['crm.address_write', 'crm.opt_in_write', CONTACT_FETCH, FIELDS_WRITE],
      deliver: (jobs) =>
        deliverByKind(jobs, {
          'crm.address_write': (js) => deliverAddresses(client, js as OutboundJob<AddressWritePayload>[], now, lookups),
          'crm.opt_in_write': (js) => deliverOptIns(client, js, now),
          [CONTACT_FETCH]: (js) => deliverContactFetches('hubspot', source, js, now),
          [FIELDS_WRITE]: (js) => deliverFieldWrites(client, js, now),
        }),
      expectedWrites: (job) => {
        if (job.kind === 'crm.opt_in_write') return optInExpectedWrite(job);
        if (job.kind === FIELDS_WRITE) return vendorValues(job, HUBSPOT_FIELDS);
        if (job.kind !== 'crm.address_write') return null;
        const p = job.payload as AddressWritePayload;
        return p.external_id ? { external_id: p.external_id, written: addressProperties(p.address) } : null;
      },
    },
    ingress: {
      verify: (req) => verifyV3(req, cfg.client_secret, cfg.webhook_url),
      parse: (req) => parseEvents(req, cfg.app_id),
      contactFromFields,
    },
  };
}

/** The standard contact properties an address is written to. */
export function addressProperties(a: PostalAddress): Record<string, string> {
  return {
    address: [a.line1, a.line2].filter((s) => s && s.trim()).join(' '),
    city: a.city ?? '',
    state: a.region ?? '',
    zip: a.postal_code ?? '',
    country: a.country ?? '',
  };
}

/** HubSpot contact properties of the canonical person fields a fields write corrects. */
const HUBSPOT_FIELDS: Record<WritableField, string> = {
  given_name: 'firstname',
  family_name: 'lastname',
  phone: 'phone',
};

/** Person-field corrections, one PATCH per contact (HubSpot clears a property with ''). */
async function deliverFieldWrites(client: Client, jobs: OutboundJob[], now: () => number): Promise<DeliveryResult[]> {
  const results: DeliveryResult[] = [];
  for (const job of jobs) {
    const { external_id, written } = vendorValues(job, HUBSPOT_FIELDS);
    const properties = Object.fromEntries(Object.entries(written).map(([k, v]) => [k, v ?? '']));
    try {
      await client.crm.contacts.basicApi.update(external_id, { properties });
      results.push({ ok: true, external_id, written });
    } catch (err) {
      results.push(mapError(err, now));
    }
  }
  return results;
}

type Found = { id: string; current?: Record<string, string | null> };

/**
 * Contacts found by e-mail, by job id, kept until the job's write settles: a retry goes straight
 * to the write, so a job needs each call to succeed once, not both in the same attempt (at 25%
 * faults the pair failing together eight times dead-lettered corrections). Bounded: oldest first out.
 */
interface LookupCache {
  get(jobId: string): Found | undefined;
  set(jobId: string, found: Found): void;
  forget(jobId: string): void;
}

function createLookupCache(max = 10_000): LookupCache {
  const byJob = new Map<string, Found>();
  return {
    get: (id) => byJob.get(id),
    set: (id, found) => {
      byJob.set(id, found);
      if (byJob.size > max) byJob.delete(byJob.keys().next().value!);
    },
    forget: (id) => void byJob.delete(id),
  };
}

async function deliverAddresses(
  client: Client,
  jobs: OutboundJob<AddressWritePayload>[],
  now: () => number,
  lookups: LookupCache,
): Promise<DeliveryResult[]> {
  const results: DeliveryResult[] = new Array(jobs.length);
  const writes: Write[] = [];
  const contacts = await findContacts(client, jobs, now, lookups);
  for (const [i, job] of jobs.entries()) {
    const found = contacts[i];
    if (found && !('ok' in found) && !job.payload.external_id) lookups.set(job.id, found);
    if (found && 'ok' in found) results[i] = found;
    else if (!found)
      results[i] = {
        ok: false,
        kind: 'not_found',
        message: scrubSecrets(`no HubSpot contact with email ${job.payload.email ?? '(none)'}`),
      };
    // Already the same delivery point (another spelling): writing would only respell the CRM's.
    else if (found.current && sameDeliveryPoint(heldAddress(found.current), job.payload.address))
      results[i] = { ok: true, external_id: found.id, unchanged: found.current };
    else writes.push({ i, id: found.id, properties: addressProperties(job.payload.address) });
  }
  // One job: a plain PATCH (a 404 names the contact). Several: batch update, 100 inputs a call.
  if (writes.length === 1) await writeOne(client, writes[0]!, results, now);
  for (let k = 0; writes.length > 1 && k < writes.length; k += MAX_BATCH)
    await writeBatch(client, writes.slice(k, k + MAX_BATCH), results, now);
  // Only a write that may succeed on retry keeps its lookup.
  for (const [i, job] of jobs.entries()) if (!retryable(results[i])) lookups.forget(job.id);
  return results;
}

function retryable(r: DeliveryResult | undefined): boolean {
  return !!r && !r.ok && r.kind !== 'invalid' && r.kind !== 'not_found';
}

interface Write {
  i: number;
  id: string;
  properties: Record<string, string>;
}

async function writeOne(client: Client, w: Write, results: DeliveryResult[], now: () => number): Promise<void> {
  try {
    await client.crm.contacts.basicApi.update(w.id, { properties: w.properties });
    results[w.i] = { ok: true, external_id: w.id, written: w.properties };
  } catch (err) {
    results[w.i] = mapError(err, now);
  }
}

async function writeBatch(
  client: Client,
  writes: Write[],
  results: DeliveryResult[],
  now: () => number,
): Promise<void> {
  try {
    // A 207 lists per-input errors; an input absent from `results` did not land.
    const res = await client.crm.contacts.batchApi.update({
      inputs: writes.map((w) => ({ id: w.id, properties: w.properties })),
    });
    const ok = new Set(res.results.map((r) => r.id));
    const errors =
      (res as { errors?: { message?: string; category?: string; context?: Record<string, string[]> }[] }).errors ?? [];
    for (const w of writes) {
      const why = errors.find((e) => e.context?.ids?.includes(w.id));
      results[w.i] = ok.has(w.id)
        ? { ok: true, external_id: w.id, written: w.properties }
        : {
            ok: false,
            kind: why?.category === 'VALIDATION_ERROR' ? 'invalid' : 'not_found',
            message: scrubSecrets(`HubSpot contact ${w.id}: ${why?.message ?? 'not updated'}`),
          };
    }
  } catch (err) {
    const failure = mapError(err, now);
    for (const w of writes) results[w.i] = failure;
  }
}

type Failure = Extract<DeliveryResult, { ok: false }>;

/**
 * Each job's contact: the lookup kept from an earlier attempt, the crosswalk id if known, else the
 * contact HubSpot holds under the job's e-mail with its address (a contact Hearth has never written
 * holds an address Hearth has not seen); null when HubSpot has no such contact, a failure when the
 * read failed. The e-mails are read by batch read on the unique `email` property, 100 a call: one
 * search per job cost a worker ~15% of its CPU and search is limited to a few requests a second.
 */
async function findContacts(
  client: Client,
  jobs: OutboundJob<AddressWritePayload>[],
  now: () => number,
  lookups: LookupCache,
): Promise<(Found | Failure | null)[]> {
  const out: (Found | Failure | null)[] = jobs.map(() => null);
  const byEmail = new Map<string, number[]>();
  for (const [i, job] of jobs.entries()) {
    const { external_id, email } = job.payload;
    const key = email?.trim().toLowerCase();
    out[i] = lookups.get(job.id) ?? (external_id ? { id: external_id } : null);
    if (!out[i] && key) byEmail.set(key, [...(byEmail.get(key) ?? []), i]);
  }
  const emails = [...byEmail.keys()];
  for (let k = 0; k < emails.length; k += MAX_BATCH) {
    const chunk = emails.slice(k, k + MAX_BATCH);
    const read = await readByEmail(client, chunk).catch((err: unknown) => mapError(err, now));
    for (const email of chunk)
      for (const i of byEmail.get(email)!) out[i] = read instanceof Map ? (read.get(email) ?? null) : read;
  }
  return out;
}

/**
 * `POST /crm/v3/objects/contacts/batch/read` with `idProperty: 'email'` for lower-cased e-mails.
 * Results do not say which input found them: they are matched back by their e-mail property. An
 * e-mail HubSpot does not have is named in a 207's OBJECT_NOT_FOUND error or simply absent: absent
 * from the map either way (not_found); an input named in any other per-input error fails alone.
 */
async function readByEmail(client: Client, emails: string[]): Promise<Map<string, Found | Failure>> {
  const res = await client.crm.contacts.batchApi.read({
    idProperty: 'email',
    inputs: emails.map((id) => ({ id })),
    properties: ['email', ...ADDRESS_PROPS],
    propertiesWithHistory: [],
  });
  const asked = new Set(emails);
  const out = new Map<string, Found | Failure>();
  for (const c of res.results) {
    const email = c.properties.email?.trim().toLowerCase();
    if (email && asked.has(email))
      out.set(email, { id: c.id, current: Object.fromEntries(ADDRESS_PROPS.map((k) => [k, c.properties[k] ?? null])) });
  }
  const errors = 'errors' in res ? (res.errors ?? []) : [];
  for (const e of errors.filter((e) => e.category !== 'OBJECT_NOT_FOUND'))
    for (const id of e.context?.ids ?? [])
      if (!out.has(id.toLowerCase()))
        out.set(id.toLowerCase(), {
          ok: false,
          kind: 'unknown',
          message: scrubSecrets(`HubSpot batch read of ${id}: ${e.category} ${e.message}`),
        });
  return out;
}

/** The contact's address properties as an address, to compare with what would be written. */
function heldAddress(c: Record<string, string | null>): PostalAddress {
  return { line1: c.address ?? '', city: c.city, region: c.state, postal_code: c.zip, country: c.country };
}

/** The fields of the SDK's ApiException (and of Node network errors) that the mapping reads. */
/** Webhook signature v3: HMAC-SHA256(client secret, method + uri + body + timestamp), 5-minute window. */
export function verifyV3(req: WebhookRequest, secret: string | undefined, publicUrl: string | undefined): VerifyResult {
  if (!secret) return { ok: false, error: 'connectors.hubspot.client_secret is not configured' };
  const signature = req.headers['x-hubspot-signature-v3'];
  const timestamp = req.headers['x-hubspot-request-timestamp'];
  if (!signature || !timestamp)
    return { ok: false, error: 'missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp header' };
  if (!(Math.abs(req.now - Number(timestamp)) <= REPLAY_WINDOW_MS))
    return { ok: false, error: 'X-HubSpot-Request-Timestamp is outside the 5-minute window' };
  const uri = decodeUri(publicUrl ?? req.url);
  const expected = hmacSha256(secret, `${req.method}${uri}${req.rawBody.toString('utf8')}${timestamp}`, 'base64');
  return safeEqual(signature, expected) ? { ok: true } : { ok: false, error: 'X-HubSpot-Signature-v3 does not match' };
}

const URI_DECODES: Record<string, string> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};
function decodeUri(uri: string): string {
  return uri.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => URI_DECODES[m.toUpperCase()] ?? m);
}

interface HubSpotEvent {
  eventId?: number;
  occurredAt?: number;
  subscriptionType?: string;
  objectId?: number;
  propertyName?: string;
  propertyValue?: string | number | boolean | null;
  changeSource?: string;
  sourceId?: string;
}

export function parseEvents(req: WebhookRequest, appId: string | undefined): InboundEvent[] {
  const body = parseJsonBody(req.rawBody);
  if (!Array.isArray(body))
    throw new HearthError('bad_request', 'hubspot body must be a JSON array of events', { field: 'body' });
  const events = checkShape(hubspotEventsSchema, body, 'hubspot') as HubSpotEvent[];
  return events.map((e, i) => toEvent(e, i, appId));
}

/**
 * What the parser reads of each event, checked before anything is stored (`[null]`, a list
 * where a value belongs: 400 naming `[i].field`). Other properties pass untouched.
 */
const hubspotEventsSchema = z
  .array(
    z.looseObject({
      eventId: vendorId.nullish(),
      occurredAt: z.number().int().nonnegative().nullish(),
      subscriptionType: vendorText,
      objectId: vendorId.nullish(),
      propertyName: vendorText,
      propertyValue: z.union([z.string().max(MAX_TEXT).transform(stripControl), z.number(), z.boolean()]).nullish(),
      changeSource: vendorText,
      sourceId: vendorText,
      fromObjectId: vendorId.nullish(),
      toObjectId: vendorId.nullish(),
      associationType: vendorText,
      associationRemoved: z.boolean().nullish(),
      isPrimaryAssociation: z.boolean().nullish(),
    }),
  )
  .max(1000);

function toEvent(e: HubSpotEvent, i: number, appId: string | undefined): InboundEvent {
  // Association events name their records as fromObjectId/toObjectId, not objectId.
  if (e.subscriptionType === 'contact.associationChange')
    return associationEvent(e as AssociationChangeEvent, i, appId);
  for (const f of ['eventId', 'occurredAt', 'subscriptionType', 'objectId'] as const) {
    if (e[f] === undefined || e[f] === null)
      throw new HearthError('bad_request', `hubspot event[${i}].${f} is required`, { field: `[${i}].${f}` });
  }
  const delivery_id = `${e.eventId}:${e.occurredAt}`;
  if (e.subscriptionType !== 'contact.propertyChange')
    return { delivery_id, event: { type: 'unsupported', source: 'hubspot', vendor_type: String(e.subscriptionType) } };
  if (!e.propertyName)
    throw new HearthError('bad_request', `hubspot event[${i}].propertyName is required`, {
      field: `[${i}].propertyName`,
    });
  const value = e.propertyValue;
  const fields = { [e.propertyName]: value === undefined || value === null ? null : String(value) };
  // HubSpot marks API writes with the app that made them: ours are echoes.
  const ours = Boolean(appId) && (e.changeSource === 'INTEGRATION' || e.changeSource === 'API') && e.sourceId === appId;
  return {
    delivery_id,
    event: {
      type: 'contact.updated',
      source: 'hubspot',
      external_id: String(e.objectId),
      contact: contactFromFields(fields),
      ...clearsOfChange(fields),
      vendor_fields: fields,
      origin_is_hearth: ours,
      occurred_at: Number(e.occurredAt),
    },
  };
}
