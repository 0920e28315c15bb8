import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type {
  AddressWritePayload,
  CanonicalContact,
  Connector,
  DeliveryResult,
  InboundEvent,
  OutboundJob,
  PulledContact,
} from '../../src/canonical/types.ts';
import { defineConnector } from '../../src/connectors/connector.ts';
import { kindOfStatus } from '../../src/connectors/common/http.ts';
import { HearthError } from '../../src/errors.ts';
import type { AcmeContact } from './vendor.ts';

// A throwaway connector, written as a contributor would add one: this folder and nothing else.
// It proves that config, ingress, write-back and reconciliation all come from the descriptor.

const config = z.object({ base_url: z.url(), webhook_secret: z.string().min(8) });
type AcmeConfig = z.infer<typeof config>;

const contactOf = (c: AcmeContact): CanonicalContact => ({
  given_name: c.first,
  family_name: c.last,
  email: c.email,
  address: c.street
    ? { line1: c.street, line2: null, city: c.city, region: c.state, postal_code: c.zip, country: c.country }
    : null,
});

function verify(secret: string, raw: Buffer, signature: string | undefined): boolean {
  const want = Buffer.from(createHmac('sha256', secret).update(raw).digest('hex'));
  const got = Buffer.from(signature ?? '');
  return got.length === want.length && timingSafeEqual(got, want);
}

function parse(raw: Buffer, now: number): InboundEvent[] {
  const body = JSON.parse(raw.toString('utf8')) as { delivery?: string; contact?: AcmeContact };
  if (typeof body.delivery !== 'string' || !body.contact?.id)
    throw new HearthError('bad_request', 'acme: delivery and contact.id are required', { field: 'contact.id' });
  const c = body.contact;
  return [
    {
      delivery_id: body.delivery,
      event: {
        type: 'contact.updated',
        source: 'acme',
        external_id: c.id,
        contact: contactOf(c),
        vendor_fields: { street: c.street, city: c.city },
        origin_is_hearth: false,
        occurred_at: now,
      },
    },
  ];
}

async function call(
  cfg: AcmeConfig,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${cfg.base_url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json() };
}

async function writeAddress(cfg: AcmeConfig, job: OutboundJob<AddressWritePayload>): Promise<DeliveryResult> {
  let id = job.payload.external_id;
  if (!id) {
    const found = await call(cfg, 'GET', `/contacts?email=${encodeURIComponent(job.payload.email ?? '')}`);
    id = (found.json as { records: AcmeContact[] }).records[0]?.id ?? null;
    if (!id) return { ok: false, kind: 'not_found', message: `acme: no contact with email ${job.payload.email}` };
  }
  const a = job.payload.address;
  const written = {
    street: [a.line1, a.line2].filter(Boolean).join(' '),
    city: a.city ?? null,
    state: a.region ?? null,
    zip: a.postal_code ?? null,
    country: a.country ?? null,
  };
  const res = await call(cfg, 'PUT', `/contacts/${id}/address`, written);
  return res.status === 200
    ? { ok: true, external_id: id, written }
    : { ok: false, kind: kindOfStatus(res.status), message: `acme ${res.status}` };
}

function createAcmeConnector(cfg: AcmeConfig): Connector {
  return {
    id: 'acme',
    ingress: {
      verify: (req) =>
        verify(cfg.webhook_secret, req.rawBody, req.headers['x-acme-signature'])
          ? { ok: true }
          : { ok: false, error: 'bad x-acme-signature' },
      parse: (req) => parse(req.rawBody, req.now),
    },
    outbound: {
      kinds: ['crm.address_write'],
      deliver: (jobs) => Promise.all(jobs.map((j) => writeAddress(cfg, j as OutboundJob<AddressWritePayload>))),
    },
    source: {
      async listContacts(cursor, opts) {
        const res = await call(cfg, 'GET', `/contacts?limit=${opts.limit}${cursor ? `&cursor=${cursor}` : ''}`);
        const page = res.json as { records: AcmeContact[]; next: string | null };
        const records: PulledContact[] = page.records.map((c) => ({
          external_id: c.id,
          contact: contactOf(c),
          properties: {},
          updated_at: null,
        }));
        return { records, next_cursor: page.next };
      },
    },
  };
}

export const acmeConnector = defineConnector({
  name: 'acme',
  config,
  ownership: { address: 25, given_name: 5, family_name: 5, email: 5 },
  capabilities: { ingress: true, writeback: true, pull: true },
  single_street_line: true,
  signature_headers: ['x-acme-signature'],
  create: (cfg) => createAcmeConnector(cfg),
});
