import type { LoyaltySettings } from '../loyalty/settings.ts';
import type { Kysely } from 'kysely';
import type { IdpTargets } from '../canonical/fields.ts';
import { IDP_PUSH_KIND, type IdentityClaims, type IdentityPushPayload } from '../canonical/identity-claims.ts';
import type { Database } from '../db/schema.ts';
import { membershipAt } from '../households/membership-store.ts';
import { tierOf } from '../loyalty/tier-store.ts';
import type { NewJob } from '../engine/jobs.ts';

type Db = Kysely<Database>;

/** Which identity providers receive pushes (config/derive.ts `idpTargetsOf`). */
export type IdpTargetSource = IdpTargets;

export interface IdentityPushOrigin {
  /** What changed it: `hubspot`, `salesforce`, `api`, `loyalty`... */
  source: string;
  /** When the change happened (start of the sync window). */
  occurred_at: number;
  event_id?: string | null;
}

export function idpTargets(src: IdpTargetSource): string[] {
  return [...src.idp_targets];
}

/** A customer's household claims now: open membership (if any) and tier. */
export async function claimsOf(db: Db, customerId: string, now: number, s: LoyaltySettings): Promise<IdentityClaims> {
  const m = await membershipAt(db, customerId);
  return {
    household_id: m?.household_id ?? null,
    hierarchy_role: m?.role ?? null,
    points_aggregation_opt_in: m?.points_aggregation_opt_in ?? false,
    tier: await tierOf(db, customerId, now, s),
  };
}

/**
 * The identity-provider pushes for customers whose household context changed (membership,
 * opt-in, tier). Call it inside the transaction that made the change, after the change: it reads
 * the claims as they now are, so each payload carries the state at the time of the change.
 * One job per configured IdP and customer; the key is target+customer, so one user's pushes run
 * in order, and a newer push supersedes a pending older one (the payload is the whole state).
 */
export async function identityPushJobs(
  db: Db,
  targets: IdpTargetSource,
  s: LoyaltySettings,
  customers: { id: string; email: string | null }[],
  origin: IdentityPushOrigin,
  now = origin.occurred_at,
): Promise<NewJob[]> {
  const systems = idpTargets(targets);
  if (systems.length === 0 || customers.length === 0) return [];
  const links = await idpLinks(
    db,
    systems,
    customers.map((c) => c.id),
  );
  const jobs: NewJob[] = [];
  const noEmail = new Set(targets.idp_without_email ?? []);
  for (const c of dedupe(customers)) {
    const claims = await claimsOf(db, c.id, now, s);
    for (const target of systems) {
      const external_id = links.get(`${target}\u0000${c.id}`) ?? null;
      // Data minimisation: an IdP not allowed the e-mail never receives it (crosswalk id only).
      const email = noEmail.has(target) ? null : c.email;
      if (!external_id && !email) continue; // no way to find this person's login
      const payload: IdentityPushPayload = {
        customer_id: c.id,
        external_id,
        email,
        claims,
        changed_at: origin.occurred_at,
      };
      jobs.push({
        target,
        kind: IDP_PUSH_KIND,
        job_key: `${target}:${c.id}`,
        payload,
        origin_at: origin.occurred_at,
        event_id: origin.event_id ?? null,
        customer_id: c.id,
        supersedes_pending: true,
      });
    }
  }
  return jobs;
}

function dedupe<T extends { id: string }>(items: T[]): T[] {
  return [...new Map(items.map((i) => [i.id, i])).values()];
}

/** Known IdP user ids from the crosswalk, keyed `system\0customer_id` (the newest link wins). */
async function idpLinks(db: Db, systems: string[], customerIds: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < customerIds.length; i += 500) {
    const rows = await db
      .selectFrom('source_links')
      .select(['system', 'external_id', 'customer_id'])
      .where('system', 'in', systems)
      .where('customer_id', 'in', customerIds.slice(i, i + 500))
      .orderBy('updated_at')
      .execute();
    for (const r of rows) out.set(`${r.system}\u0000${r.customer_id}`, r.external_id);
  }
  return out;
}
