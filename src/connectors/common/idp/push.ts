import type { DeliveryResult, OutboundJob } from '../../../canonical/types.ts';
import {
  flatClaims,
  type IdentityClaims,
  type IdentityPushPayload,
  type MissingUserPolicy,
} from '../../../canonical/identity-claims.ts';
import type { Failure, Outcome } from './http.ts';

/** What each identity provider offers the push: find a login by e-mail, write claims onto it. */
export interface IdpUserApi {
  /** Ids of the users whose login e-mail is this address (exact, case-insensitive). */
  findByEmail(email: string): Promise<Outcome<string[]>>;
  /** Writes the household claims onto one user (merging with whatever else it holds). */
  writeClaims(userId: string, claims: IdentityClaims): Promise<Outcome<null>>;
  /** Deletes one user (erasure); a user already gone answers not_found. */
  deleteUser(userId: string): Promise<Outcome<null>>;
}

/**
 * Delivers a batch one job at a time (IdP management APIs have tight rate limits). After a 429
 * the rest of the batch is not sent: it fails with the same Retry-After, and the outbox waits.
 */
export async function deliverPushes(
  system: string,
  api: IdpUserApi,
  policy: MissingUserPolicy,
  jobs: OutboundJob[],
): Promise<DeliveryResult[]> {
  const results: DeliveryResult[] = [];
  let limited: Failure | null = null;
  for (const job of jobs) {
    const r: DeliveryResult = limited ?? (await pushOne(system, api, policy, job.payload as IdentityPushPayload));
    if (!r.ok && r.kind === 'rate_limited') limited = r;
    results.push(r);
  }
  return results;
}

/**
 * One push: to the user the crosswalk knows, else (or when that user is gone) to the users with
 * the customer's e-mail. No such user: nothing to write under `skip` (the customer has no login;
 * the claims endpoint still answers for them), a `not_found` dead letter under `fail`.
 */
export async function pushOne(
  system: string,
  api: IdpUserApi,
  policy: MissingUserPolicy,
  p: IdentityPushPayload,
): Promise<DeliveryResult> {
  const written = flatClaims(p.claims);
  if (p.external_id) {
    const r = await api.writeClaims(p.external_id, p.claims);
    if (r.ok) return { ok: true, external_id: p.external_id, written };
    if (r.kind !== 'not_found') return r;
  }
  if (!p.email)
    return {
      ok: false,
      kind: 'not_found',
      message: `${system}: user ${p.external_id ?? '(unknown)'} not found and customer ${p.customer_id} has no e-mail`,
    };
  const found = await api.findByEmail(p.email);
  if (!found.ok) return found;
  if (found.value.length === 0) {
    return policy === 'skip'
      ? { ok: true }
      : { ok: false, kind: 'not_found', message: `${system}: no user with the e-mail of customer ${p.customer_id}` };
  }
  // Several logins can share an address (Auth0 social + database): all get the claims; the crosswalk learns the first.
  for (const id of found.value) {
    const r = await api.writeClaims(id, p.claims);
    if (!r.ok) return r;
  }
  return { ok: true, external_id: found.value[0]!, written };
}
