import type { Connector, ContactSource, DeliveryResult, HouseholdSource, OutboundJob } from '../../canonical/types.ts';
import { isHearthError } from '../../errors.ts';
import { credentialFailure, type Credential } from './credentials.ts';

type Failure = Extract<DeliveryResult, { ok: false }>;

/** How a connector's client takes a token, and how its failures say "401". */
export interface TokenUse {
  /** Puts the token where the vendor client reads it (SDK setter, a holder the fetch reads). */
  apply(token: string): void;
  /** The vendor refused the token itself (HTTP 401, an invalid session), not a missing scope. */
  unauthorized(message: string): boolean;
}

/** The usual test: the status or the vendors' invalid-token codes in the scrubbed message. */
export const saysUnauthorized = (message: string): boolean =>
  /\b401\b|INVALID_SESSION_ID|INVALID_TOKEN|INVALID_AUTHENTICATION/.test(message);

/**
 * A connector whose every call runs with a current token: renewed before expiry, renewed once
 * and retried on a 401, and its job loop paused (`ready`) while the grant needs re-authorisation.
 */
export function withRenewal(c: Connector, cred: Credential, use: TokenUse): Connector {
  const out: Connector = { ...c, auth: { status: () => cred.status() } };
  if (c.outbound) {
    const inner = c.outbound;
    out.outbound = {
      ...inner,
      ready: () => cred.usable(),
      deliver: (jobs) => deliverRenewing(inner.deliver, jobs, cred, use),
    };
  }
  if (c.source) out.source = sourceRenewing(c.source, cred, use);
  return out;
}

async function deliverRenewing(
  deliver: (jobs: OutboundJob[]) => Promise<DeliveryResult[]>,
  jobs: OutboundJob[],
  cred: Credential,
  use: TokenUse,
): Promise<DeliveryResult[]> {
  let token: string;
  try {
    token = await cred.token();
  } catch (err) {
    return jobs.map(() => asFailure(err));
  }
  use.apply(token);
  const results = await deliver(jobs);
  const refused = results.flatMap((r, i) => (!r.ok && r.kind === 'auth' && use.unauthorized(r.message) ? [i] : []));
  if (refused.length === 0) {
    if (results.some((r) => r.ok)) cred.succeeded();
    return results;
  }
  try {
    use.apply(await cred.renew(token));
  } catch (err) {
    for (const i of refused) results[i] = asFailure(err);
    return results;
  }
  const again = await deliver(refused.map((i) => jobs[i]!));
  refused.forEach((i, k) => {
    results[i] = again[k] ?? results[i]!;
  });
  if (again.some((r) => r.ok)) cred.succeeded();
  return results;
}

function sourceRenewing(s: ContactSource, cred: Credential, use: TokenUse): ContactSource {
  const wrapped: ContactSource = {
    listContacts: (cursor, opts) => callRenewing(cred, use, () => s.listContacts(cursor, opts)),
  };
  if (s.getContact) {
    const get = s.getContact.bind(s);
    wrapped.getContact = (id, opts) => callRenewing(cred, use, () => get(id, opts));
  }
  return wrapped;
}

/** A household reader that calls with a current token. */
export function householdsRenewing(h: HouseholdSource, cred: Credential, use: TokenUse): HouseholdSource {
  return { householdsOf: (contacts) => callRenewing(cred, use, () => h.householdsOf(contacts)) };
}

/** One read with a current token; a 401 (thrown as a connector_error of kind auth) renews and reads again. */
export async function callRenewing<T>(cred: Credential, use: TokenUse, read: () => Promise<T>): Promise<T> {
  const token = await cred.token();
  use.apply(token);
  try {
    const out = await read();
    cred.succeeded();
    return out;
  } catch (err) {
    if (!(isHearthError(err) && err.details?.kind === 'auth' && use.unauthorized(err.message))) throw err;
    use.apply(await cred.renew(token));
    const out = await read();
    cred.succeeded();
    return out;
  }
}

function asFailure(err: unknown): Failure {
  return credentialFailure(err) ?? { ok: false, kind: 'unknown', message: String((err as Error).message ?? err) };
}
