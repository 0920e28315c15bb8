import type { ClearableField } from '../../canonical/fields.ts';
import type { CanonicalContact, DeliveryResult, FailureKind } from '../../canonical/types.ts';
import { scrubSecrets } from '../../log.ts';
import { kindOfStatus, parseRetryAfter } from '../common/http.ts';

// HubSpot's wire shapes in Hearth's terms: errors as failure kinds, contact properties as a contact.

/** The standard contact properties an address is written to (contacts have one street line). */
export const ADDRESS_PROPS = ['address', 'city', 'state', 'zip', 'country'] as const;

interface SdkError {
  code?: number | string;
  body?: unknown;
  headers?: Record<string, string>;
  message?: string;
}

const NETWORK =
  /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|socket hang up|timeout|aborted|fetch failed|network/i;

/**
 * HubSpot's errors as neutral kinds; a 429 carries when to come back: Retry-After if sent, else
 * the policy's window (ten-secondly rolling: 10 s; search's secondly limit: 1 s; daily: 1 h).
 */
export function mapError(err: unknown, now: () => number): Extract<DeliveryResult, { ok: false }> {
  const e = (err ?? {}) as SdkError;
  const status = typeof e.code === 'number' ? e.code : 0;
  const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body ?? '');
  const detail = status
    ? `HubSpot ${status}: ${body.slice(0, 400)}`
    : `HubSpot unreachable: ${e.message ?? String(err)}`;
  const message = scrubSecrets(detail);
  const kind = kindOf(status, body, `${e.code ?? ''} ${e.message ?? ''}`);
  if (kind !== 'rate_limited') return { ok: false, kind, message };
  return {
    ok: false,
    kind,
    message,
    retry_after_ms: parseRetryAfter(header(e.headers, 'retry-after'), now) ?? policyWait(body),
  };
}

function kindOf(status: number, body: string, text: string): FailureKind {
  if (status === 0) return NETWORK.test(text) ? 'transient' : 'unknown';
  // HubSpot reports some rate limits in the body of a non-429.
  if (body.includes('"RATE_LIMIT"')) return 'rate_limited';
  return kindOfStatus(status);
}

function policyWait(body: string): number {
  if (body.includes('"DAILY"')) return 60 * 60 * 1000;
  if (body.includes('secondly limit.') && !body.includes('ten_secondly')) return 1000;
  return 10_000;
}

function header(headers: Record<string, string> | undefined, name: string): string | undefined {
  return Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1];
}

const CLEARABLE_PROPS: Record<string, ClearableField> = {
  firstname: 'given_name',
  lastname: 'family_name',
  email: 'email',
  phone: 'phone',
};

/**
 * A property change that empties a person property (HubSpot sends '' or no value) is a clear, as
 * `cleared` on the event; for a property change only: a pulled record's empty property is "no value".
 */
export function clearsOfChange(f: Record<string, string | null>): { cleared?: ClearableField[] } {
  const cleared = Object.entries(f).flatMap(([p, v]) => (CLEARABLE_PROPS[p] && !v?.trim() ? [CLEARABLE_PROPS[p]] : []));
  return cleared.length ? { cleared } : {};
}

/** Maps HubSpot contact properties to canonical fields; only the properties present are set. */
export function contactFromFields(f: Record<string, string | null>): CanonicalContact {
  const c: CanonicalContact = {};
  if ('firstname' in f) c.given_name = f.firstname || null;
  if ('lastname' in f) c.family_name = f.lastname || null;
  if ('email' in f) c.email = f.email || null;
  if ('phone' in f) c.phone = f.phone || null;
  if (ADDRESS_PROPS.some((p) => p in f)) {
    c.address = {
      line1: f.address ?? '',
      line2: null,
      city: f.city ?? null,
      region: f.state ?? null,
      postal_code: f.zip ?? null,
      country: f.country ?? null,
    };
  }
  return c;
}
