import type { PostalAddress } from '../address/types.ts';
import type { AddressWritePayload } from '../canonical/types.ts';
import { addressOf, toCustomer } from '../canonical/customer.ts';
import type { ChangePlan } from '../customers/plan.ts';
import type { CustomersTable } from '../db/schema.ts';
import type { NewJob } from '../engine/jobs.ts';
import { shapeEvent } from '../connectors/webhook/versions.ts';
import type { EngineContext } from './context.ts';

export interface ChangeOrigin {
  source: string;
  event_id: string;
  /** When the change happened at the source (start of the sync window). */
  occurred_at: number;
  order_id?: string;
}

/**
 * The outbound jobs one applied change produces: the CRM write-back when the delivery point
 * moved (unless the CRM itself moved it, or already holds that delivery point), and a signed
 * webhook per subscribed downstream reader.
 */
export function outboundJobs(
  ctx: EngineContext,
  after: CustomersTable,
  previous: PostalAddress | null,
  plan: ChangePlan,
  origin: ChangeOrigin,
  crmExternalId: string | null,
  crmHasIt = false,
): NewJob[] {
  const jobs: NewJob[] = [];
  const address = addressOf(after);
  if (plan.address_moved && address && ctx.writeback_crm && origin.source !== ctx.writeback_crm && !crmHasIt) {
    const payload: AddressWritePayload = {
      customer_id: after.id,
      external_id: crmExternalId,
      email: after.email,
      address,
      corrected_at: origin.occurred_at,
    };
    jobs.push({
      target: ctx.writeback_crm,
      kind: 'crm.address_write',
      job_key: `${ctx.writeback_crm}:${after.id}`,
      payload,
      origin_at: origin.occurred_at,
      event_id: origin.event_id,
      customer_id: after.id,
      supersedes_pending: true,
    });
  }
  for (const t of ctx.webhook_targets) {
    const type =
      plan.address_moved && t.events.includes('address.corrected')
        ? 'address.corrected'
        : plan.log.length > 0 && t.events.includes('customer.updated')
          ? 'customer.updated'
          : null;
    if (!type) continue;
    const event = {
      id: `${origin.event_id}.${t.name}`,
      type,
      created_at: new Date(origin.occurred_at).toISOString(),
      data: {
        customer: toCustomer(after),
        previous_address: previous,
        source: origin.source,
        order_id: origin.order_id ?? null,
        changed_fields: plan.log.map((l) => l.field),
      },
    };
    jobs.push({
      target: `webhook:${t.name}`,
      kind: 'webhook.deliver',
      job_key: `webhook:${t.name}:${after.id}`,
      payload: { target: t.name, event: shapeEvent(event, t.schema_version) },
      origin_at: origin.occurred_at,
      event_id: origin.event_id,
      customer_id: after.id,
    });
  }
  return jobs;
}
