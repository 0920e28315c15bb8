import type { CanonicalContact, DeliveryResult, FailureKind } from '../../canonical/types.ts';
import { scrubSecrets as scrubCommon } from '../../log.ts';
import { credentialFailure } from '../common/credentials.ts';

// Salesforce's wire shapes in Hearth's terms: error codes as failure kinds, Contact fields as a contact.

// Salesforce session ids (`00D…!AQ…`) contain `!`, which the shared scrubber's token pattern stops at.
export function scrubSecrets(text: string): string {
  return scrubCommon(text.replace(/\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]+/g, '[redacted]'));
}

const CODE_KINDS: Record<string, FailureKind> = {
  REQUEST_LIMIT_EXCEEDED: 'rate_limited',
  INVALID_SESSION_ID: 'auth',
  INSUFFICIENT_ACCESS_OR_READONLY: 'auth',
  INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY: 'auth',
  API_DISABLED_FOR_ORG: 'auth',
  NOT_FOUND: 'not_found',
  ENTITY_IS_DELETED: 'not_found',
  INVALID_CROSS_REFERENCE_KEY: 'not_found',
  UNABLE_TO_LOCK_ROW: 'transient',
  SERVER_UNAVAILABLE: 'transient',
  SERVICE_UNAVAILABLE: 'transient',
  ERROR_HTTP_500: 'transient',
  ERROR_HTTP_502: 'transient',
  ERROR_HTTP_503: 'transient',
  ERROR_HTTP_504: 'transient',
};

const NETWORK = /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|socket hang up|FetchError|fetch failed|timeout/i;

/** Salesforce's error codes as neutral kinds; any other code is a request Salesforce refused (invalid). */
export function kindOfCode(code: string): FailureKind {
  return CODE_KINDS[code] ?? (/^ERROR_HTTP_5\d\d$/.test(code) ? 'transient' : code ? 'invalid' : 'unknown');
}

/** jsforce errors (`errorCode`/`name` from Salesforce's error array, FetchError for the network) as neutral kinds. */
export function mapError(err: unknown): Extract<DeliveryResult, { ok: false }> {
  // The credential could not be renewed (jsforce's refreshFn failed): auth or transient, as it said.
  const refused = credentialFailure(err);
  if (refused) return refused;
  const e = (err ?? {}) as { errorCode?: string; name?: string; code?: string; message?: string };
  const network = NETWORK.test(`${e.name ?? ''} ${e.code ?? ''} ${e.message ?? ''}`) && !e.errorCode;
  const code = e.errorCode ?? (network ? (e.code ?? 'NETWORK') : '');
  const message = scrubSecrets(`Salesforce ${code || 'error'}: ${e.message ?? String(err)}`.slice(0, 500));
  const kind = network ? 'transient' : kindOfCode(code);
  return kind === 'rate_limited'
    ? { ok: false, kind, message, retry_after_ms: limitWait(e.message ?? '') }
    : { ok: false, kind, message };
}

// Salesforce sends no Retry-After. The daily allocation is a rolling 24 h count: wait an hour;
// the concurrent long-running request limit clears in seconds.
export function limitWait(message: string): number {
  return /ConcurrentRequests|concurrent/i.test(message) ? 30_000 : 60 * 60 * 1000;
}

export function contactFromFields(f: Record<string, string | null>): CanonicalContact {
  const c: CanonicalContact = {};
  if ('FirstName' in f) c.given_name = f.FirstName ?? null;
  if ('LastName' in f) c.family_name = f.LastName ?? null;
  if ('Email' in f) c.email = f.Email ?? null;
  if ('Phone' in f) c.phone = f.Phone ?? null;
  if (['MailingStreet', 'MailingCity', 'MailingState', 'MailingPostalCode', 'MailingCountry'].some((k) => k in f)) {
    const [line1, ...rest] = (f.MailingStreet ?? '').split('\n');
    c.address = {
      line1: line1 ?? '',
      line2: rest.join(' ') || null,
      city: f.MailingCity ?? null,
      region: f.MailingState ?? null,
      postal_code: f.MailingPostalCode ?? null,
      country: f.MailingCountry ?? null,
    };
  }
  return c;
}
