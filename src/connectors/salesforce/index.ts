import { salesforceConnection } from './auth.ts';
import type { TokenStore } from '../common/credentials-store.ts';
import type { FetchLike } from '../common/http.ts';
import { withRenewal } from '../common/renewing.ts';
import { HearthError } from '../../errors.ts';
import { sameDeliveryPoint } from '../../address/index.ts';
import type { PostalAddress } from '../../address/types.ts';
import type { Logger } from '../../log.ts';
import { contactFromFields, kindOfCode, limitWait, mapError, scrubSecrets } from './mapping.ts';
import type { SalesforceConfig } from './config.ts';
import { hmacSha256, safeEqual } from '../hmac.ts';
import { CONTACT_FETCH, deliverContactFetches } from '../contact-fetch.ts';
import { deliverByKind } from '../deliver-by-kind.ts';
import { FIELDS_WRITE, vendorValues, type WritableField } from '../fields-write.ts';
import { accountChange, deliverOptIns, optInExpectedWrite, primaryContactChange } from './households.ts';
import { createSalesforceSource, type SfReader } from './pull.ts';
import { changeEventsSchema, FLAT_FIELDS } from './schema.ts';
import { checkShape, parseJsonBody } from '../common/ingress.ts';
import type {
  AddressWritePayload,
  Connector,
  DeliveryResult,
  InboundEvent,
  OutboundJob,
  VerifyResult,
  WebhookRequest,
} from '../../canonical/types.ts';

export type { SalesforceConfig };

export interface SalesforceDeps {
  logger?: Logger;
  now?: () => number;
  fetch?: FetchLike | undefined;
  tokens?: TokenStore | undefined;
}

/** The slice of jsforce's Connection Hearth uses. */
interface SfConnection {
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

/**
 * Salesforce Contacts through jsforce. Write-back targets the standard Mailing* fields; every
 * call carries `Sforce-Call-Options: client=<client_id>`, so Change Data Capture marks the echo
 * of our own writes in `changeOrigin`.
 */
export function createSalesforceConnector(cfg: SalesforceConfig, deps: SalesforceDeps = {}): Connector {
  const live = salesforceConnection(cfg, deps);
  return withRenewal(salesforceCore(cfg, live.conn as unknown as SfConnection, deps), live.cred, live.use);
}

function salesforceCore(cfg: SalesforceConfig, conn: SfConnection, deps: SalesforceDeps): Connector {
  const now = deps.now ?? Date.now;
  const source = createSalesforceSource(conn as unknown as SfReader);
  return {
    id: 'salesforce',
    maxBatch: 200,
    source,
    outbound: {
      kinds: ['crm.address_write', 'crm.opt_in_write', CONTACT_FETCH, FIELDS_WRITE],
      deliver: (jobs) =>
        deliverByKind(jobs, {
          'crm.address_write': (js) => deliverAddresses(conn, js as OutboundJob<AddressWritePayload>[]),
          'crm.opt_in_write': (js) => deliverOptIns(conn, js),
          [CONTACT_FETCH]: (js) => deliverContactFetches('salesforce', source, js, now),
          [FIELDS_WRITE]: (js) => deliverFieldWrites(conn, js),
        }),
      expectedWrites: (job) => {
        if (job.kind === 'crm.opt_in_write') return optInExpectedWrite(job);
        if (job.kind === FIELDS_WRITE) return vendorValues(job, SALESFORCE_FIELDS);
        if (job.kind !== 'crm.address_write') return null;
        const p = job.payload as AddressWritePayload;
        return p.external_id ? { external_id: p.external_id, written: mailingFields(p.address) } : null;
      },
    },
    ingress: {
      verify: (req) => verifyRelay(req, cfg.cdc_secret),
      parse: (req) => parseChangeEvents(req, cfg.client_id, now),
      contactFromFields,
    },
  };
}

export function mailingFields(a: PostalAddress): Record<string, string | null> {
  return {
    MailingStreet: [a.line1, a.line2].filter((s) => s && s.trim()).join('\n'),
    MailingCity: a.city ?? null,
    MailingState: a.region ?? null,
    MailingPostalCode: a.postal_code ?? null,
    MailingCountry: a.country ?? null,
  };
}

const MAX_COLLECTION = 200;

/** Contact fields of the canonical person fields a fields write corrects. */
const SALESFORCE_FIELDS: Record<WritableField, string> = {
  given_name: 'FirstName',
  family_name: 'LastName',
  phone: 'Phone',
};

/** Person-field corrections by record id, through the same sObject Collections write as addresses. */
async function deliverFieldWrites(conn: SfConnection, jobs: OutboundJob[]): Promise<DeliveryResult[]> {
  const results: DeliveryResult[] = new Array(jobs.length);
  const records: SfWrite[] = jobs.map((j, i) => {
    const { external_id, written } = vendorValues(j, SALESFORCE_FIELDS);
    return { i, id: external_id, fields: written };
  });
  for (let k = 0; k < records.length; k += MAX_COLLECTION)
    await writeCollection(conn, records.slice(k, k + MAX_COLLECTION), results);
  return results;
}

async function deliverAddresses(
  conn: SfConnection,
  jobs: OutboundJob<AddressWritePayload>[],
): Promise<DeliveryResult[]> {
  const results: DeliveryResult[] = new Array(jobs.length);
  let found: (Found | null)[];
  try {
    found = await resolveIds(
      conn,
      jobs.map((j) => j.payload),
    );
  } catch (err) {
    return jobs.map(() => mapError(err));
  }
  const records: SfWrite[] = [];
  jobs.forEach((j, i) => {
    const f = found[i];
    if (!f)
      results[i] = {
        ok: false,
        kind: 'not_found',
        message: scrubSecrets(`no Salesforce Contact with email ${j.payload.email ?? '(none)'}`),
      };
    // Already the same delivery point (another spelling): writing would only respell the CRM's.
    else if (f.current && sameDeliveryPoint(heldAddress(f.current), j.payload.address))
      results[i] = { ok: true, external_id: f.id, unchanged: f.current };
    else records.push({ i, id: f.id, fields: mailingFields(j.payload.address) });
  });
  // sObject Collections take 200 records a call; allOrNone false so one bad record fails alone.
  for (let k = 0; k < records.length; k += MAX_COLLECTION)
    await writeCollection(conn, records.slice(k, k + MAX_COLLECTION), results);
  return results;
}

interface SfWrite {
  i: number;
  id: string;
  fields: Record<string, string | null>;
}

async function writeCollection(conn: SfConnection, records: SfWrite[], results: DeliveryResult[]): Promise<void> {
  try {
    const saved = await conn.sobject('Contact').update(
      records.map((r) => ({ Id: r.id, ...r.fields })),
      { allOrNone: false },
    );
    records.forEach((r, k) => {
      results[r.i] = saveResult(r, saved[k]);
    });
  } catch (err) {
    const failure = mapError(err);
    for (const r of records) results[r.i] = failure;
  }
}

type SaveResult = {
  id?: string;
  success: boolean;
  errors: { statusCode?: string; errorCode?: string; message: string }[];
};

function saveResult(r: SfWrite, s: SaveResult | undefined): DeliveryResult {
  if (s?.success) return { ok: true, external_id: r.id, written: r.fields };
  const first = s?.errors[0];
  const kind = kindOfCode(first?.statusCode ?? first?.errorCode ?? '');
  const message = scrubSecrets(
    `Salesforce ${first?.statusCode ?? first?.errorCode ?? ''}: ` +
      `${s?.errors.map((e) => e.message).join('; ') || 'no result for this record'}`,
  );
  return kind === 'rate_limited'
    ? { ok: false, kind, message, retry_after_ms: limitWait(message) }
    : { ok: false, kind, message };
}

interface Found {
  id: string;
  /** The Mailing* values, read when the contact was found by email (Hearth never wrote it). */
  current?: Record<string, string | null>;
}

const MAILING_FIELDS = ['MailingStreet', 'MailingCity', 'MailingState', 'MailingPostalCode', 'MailingCountry'] as const;

/** Crosswalk ids first; the rest are looked up by email in one SOQL query that also reads the address. */
async function resolveIds(conn: SfConnection, payloads: AddressWritePayload[]): Promise<(Found | null)[]> {
  const emails = [...new Set(payloads.filter((p) => !p.external_id && p.email).map((p) => p.email!.toLowerCase()))];
  const byEmail = new Map<string, Found>();
  if (emails.length) {
    const list = emails.map((e) => `'${e.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(',');
    const res = await conn.query<Record<string, string | null> & { Id: string; Email: string }>(
      `SELECT Id, Email, ${MAILING_FIELDS.join(', ')} FROM Contact WHERE Email IN (${list})`,
    );
    for (const r of res.records)
      byEmail.set(r.Email.toLowerCase(), {
        id: r.Id,
        current: Object.fromEntries(MAILING_FIELDS.map((k) => [k, r[k] ?? null])),
      });
  }
  return payloads.map((p) =>
    p.external_id ? { id: p.external_id } : p.email ? (byEmail.get(p.email.toLowerCase()) ?? null) : null,
  );
}

/** The Mailing* values as an address, to compare with what would be written. */
function heldAddress(c: Record<string, string | null>): PostalAddress {
  return {
    line1: c.MailingStreet ?? '',
    city: c.MailingCity,
    region: c.MailingState,
    postal_code: c.MailingPostalCode,
    country: c.MailingCountry,
  };
}

/**
 * CDC events reach Hearth through a relay (Salesforce delivers CDC over the Pub/Sub API or
 * CometD, not webhooks); the relay signs the JSON body: `X-Hearth-Signature: sha256=<hex>`.
 */
export function verifyRelay(req: WebhookRequest, secret: string | undefined): VerifyResult {
  if (!secret) return { ok: false, error: 'connectors.salesforce.cdc_secret is not configured' };
  const header = req.headers['x-hearth-signature'];
  if (!header?.startsWith('sha256=')) return { ok: false, error: 'missing X-Hearth-Signature: sha256=<hex> header' };
  return safeEqual(header.slice(7), hmacSha256(secret, req.rawBody, 'hex'))
    ? { ok: true }
    : { ok: false, error: 'X-Hearth-Signature does not match the body' };
}

interface ChangeEvent {
  replayId?: string | number;
  ChangeEventHeader?: {
    entityName?: string;
    recordIds?: string[];
    changeType?: string;
    changeOrigin?: string;
    commitTimestamp?: number;
    nulledFields?: string[];
  };
  [field: string]: unknown;
}

/** Body: one event or `{ events: [...] }`, each with its `replayId`. */
export function parseChangeEvents(
  req: WebhookRequest,
  clientId: string,
  now: () => number = () => req.now,
): InboundEvent[] {
  const body = parseJsonBody(req.rawBody);
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HearthError('bad_request', 'salesforce body must be a change event object or { events: [...] }', {
      field: 'body',
    });
  const raw = 'events' in body ? (body as { events: unknown }).events : [body];
  return changeEventsToInbound(raw, clientId, now);
}

/**
 * Change events (already JSON: from the relay's body or decoded from the Pub/Sub stream's Avro)
 * as canonical inbound events: one mapping for both paths, so both produce the same events with
 * the same delivery ids (the replay id) and a change seen on both is stored once.
 */
export function changeEventsToInbound(raw: unknown, clientId: string, now: () => number): InboundEvent[] {
  const events = checkShape(changeEventsSchema, raw, 'salesforce', 'events') as ChangeEvent[];
  return events.flatMap((e, i) => toEvents(e, i, clientId, now));
}

function toEvents(e: ChangeEvent, i: number, clientId: string, now: () => number): InboundEvent[] {
  if (typeof e !== 'object' || e === null) throw required(i, '');
  const h = e.ChangeEventHeader;
  if (e.replayId === undefined || e.replayId === null || e.replayId === '') throw required(i, '.replayId');
  if (typeof h !== 'object' || h === null) throw required(i, '.ChangeEventHeader');
  if (!Array.isArray(h.recordIds) || h.recordIds.length === 0) throw required(i, '.ChangeEventHeader.recordIds');
  if (!h.changeType) throw required(i, '.ChangeEventHeader.changeType');
  const delivery = String(e.replayId);
  if (h.entityName === 'Account' && h.changeType === 'UPDATE')
    return primaryContactChange(
      e,
      h.recordIds,
      delivery,
      isHearthOrigin(h.changeOrigin, clientId),
      h.commitTimestamp ?? now(),
    );
  if (h.entityName !== 'Contact' || !['CREATE', 'UPDATE'].includes(h.changeType))
    return [
      {
        delivery_id: delivery,
        event: { type: 'unsupported', source: 'salesforce', vendor_type: `${h.entityName}.${h.changeType}` },
      },
    ];
  const fields = flatten(e);
  const ours = isHearthOrigin(h.changeOrigin, clientId);
  return h.recordIds.flatMap((id, k): InboundEvent[] => {
    const delivery_id = h.recordIds!.length > 1 ? `${delivery}:${k}` : delivery;
    const update: InboundEvent = {
      delivery_id,
      event: {
        type: 'contact.updated' as const,
        source: 'salesforce' as const,
        external_id: id,
        contact: contactFromFields(fields),
        vendor_fields: fields,
        origin_is_hearth: ours,
        occurred_at: h.commitTimestamp ?? now(),
      },
    };
    // A changed AccountId is a household move (NPSP): its own event, applied after the update.
    const moved = accountChange(e, h.nulledFields ?? [], id, ours, h.commitTimestamp ?? now());
    return moved ? [update, { delivery_id: `${delivery_id}:household`, event: moved }] : [update];
  });
}

function required(i: number, path: string): HearthError {
  return new HearthError('bad_request', `salesforce events[${i}]${path} is required`, { field: `events[${i}]${path}` });
}

/** `com/salesforce/api/rest/62.0;client=hearth` names the client that made the change; UI edits have none. */
export function isHearthOrigin(changeOrigin: string | undefined, clientId: string): boolean {
  return (changeOrigin ?? '').split(';').some((part) => part.trim() === `client=${clientId}`);
}

/** `MailingAddress: {City}` and `Name: {FirstName}` compound fields become flat `MailingCity`, `FirstName`. */
function flatten(e: ChangeEvent): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const addr = e.MailingAddress as Record<string, string | null> | undefined;
  const name = e.Name as Record<string, string | null> | undefined;
  const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
  for (const [k, v] of Object.entries(addr ?? {}))
    if (['Street', 'City', 'State', 'PostalCode', 'Country'].includes(k)) out[`Mailing${k}`] = str(v);
  for (const [k, v] of Object.entries(name ?? {})) if (['FirstName', 'LastName'].includes(k)) out[k] = str(v);
  for (const k of FLAT_FIELDS) {
    if (k in e) out[k] = (e[k] as string | null) ?? null;
  }
  // Custom fields (`__c`, e.g. the household opt-in checkbox) travel as strings.
  for (const [k, v] of Object.entries(e))
    if (k.endsWith('__c') && (v === null || typeof v !== 'object')) out[k] = v === null ? null : String(v);
  // Fields set to null are listed in the header (`MailingAddress.City`) and may be absent from the body.
  for (const f of e.ChangeEventHeader?.nulledFields ?? []) {
    const k = f.replace(/^MailingAddress\./, 'Mailing').replace(/^Name\./, '');
    if (FLAT_FIELDS.includes(k)) out[k] = null;
  }
  return out;
}
