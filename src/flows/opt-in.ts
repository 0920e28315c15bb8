import type { Kysely } from 'kysely';
import type { OptInWritePayload } from '../canonical/types.ts';
import { getCustomerRow } from '../customers/customer-store.ts';
import type { Database } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { enqueueJobs } from '../engine/jobs.ts';
import { applyWantedMembership, currentMembership, type MembershipEffects } from './membership-apply.ts';
import type { Membership } from '../households/membership-store.ts';

type Db = Kysely<Database>;

export interface OptInSettings extends MembershipEffects {
  opt_in_property: string;
}

export interface OptInResult {
  membership: Membership;
  changed: boolean;
  /** The queued write of the opt-in property to the household CRM (null when nothing changed). */
  job_id: string | null;
}

/**
 * Sets a member's points-aggregation consent through Hearth's API. In one transaction: a new
 * membership period (with the ledger's split and the IdP pushes), and a `crm.opt_in_write` job
 * that writes the property back to the household's CRM — which stays the record: its echo of
 * our write is recognised and not applied twice.
 */
export async function setOptInViaApi(
  db: Db,
  customerId: string,
  optIn: boolean,
  s: OptInSettings,
  now: number,
): Promise<OptInResult> {
  return db.transaction().execute(async (trx) => {
    const customer = await getCustomerRow(trx, customerId);
    if (!customer) throw new HearthError('not_found', `customer ${customerId} not found`);
    const held = await currentMembership(trx, customer.id);
    if (!held)
      throw new HearthError('conflict', `customer ${customer.id} is in no household; the CRM decides membership`, {
        customer_id: customer.id,
      });
    const { household_external_id, household_source, ...membership } = held;
    if (held.points_aggregation_opt_in === optIn) return { membership, changed: false, job_id: null };
    const link = await trx
      .selectFrom('source_links')
      .select('external_id')
      .where('system', '=', household_source)
      .where('customer_id', '=', customer.id)
      .orderBy('updated_at', 'desc')
      .executeTakeFirst();
    if (!link)
      throw new HearthError(
        'conflict',
        `customer ${customer.id} has no ${household_source} contact to write the opt-in to`,
        { customer_id: customer.id },
      );
    const out = await applyWantedMembership(
      trx,
      household_source,
      customer.id,
      { household: { external_id: household_external_id, name: null }, role: held.role, opt_in: optIn },
      s,
      { source: 'api', occurred_at: now },
      now,
    );
    const payload: OptInWritePayload = {
      customer_id: customer.id,
      external_id: link.external_id,
      property: s.opt_in_property,
      opt_in: optIn,
    };
    const [jobId] = await enqueueJobs(
      trx,
      [
        {
          target: household_source,
          kind: 'crm.opt_in_write',
          job_key: `${household_source}:${customer.id}`,
          payload,
          origin_at: now,
          customer_id: customer.id,
          supersedes_pending: true,
        },
      ],
      s.max_attempts,
      now,
    );
    return { membership: out.opened ?? membership, changed: true, job_id: jobId ?? null };
  });
}
