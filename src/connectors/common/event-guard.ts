import { z } from 'zod';
import { CLEARABLE_FIELDS } from '../../canonical/fields.ts';
import type { InboundEvent } from '../../canonical/types.ts';
import { HearthError } from '../../errors.ts';
import { MAX_AMOUNT_MINOR, MAX_TEXT, stripControl } from './ingress.ts';

/**
 * The last gate before the inbox: whatever a connector's parser produced must be appliable on
 * both dialects. Strings lose NUL and control bytes and are bounded, amounts are whole minor
 * units within `MAX_AMOUNT_MINOR`, times fall in a plausible range. A parser bug or a vendor
 * oddity becomes a 400 naming the field, never a stored event that fails later.
 */
const EARLIEST = Date.UTC(1990, 0, 1);
const LATEST = Date.UTC(2100, 0, 1);

const text = z.string().max(MAX_TEXT).transform(stripControl);
const optText = text.nullish();
const id = text.pipe(z.string().min(1));
const time = z.number().int().min(EARLIEST, 'time is before 1990').max(LATEST, 'time is after 2100');
const amount = z.number().int().min(0).max(MAX_AMOUNT_MINOR, 'amount is out of range');

const address = z.object({
  line1: text,
  line2: optText,
  city: optText,
  region: optText,
  postal_code: optText,
  country: optText,
});

const contact = z.object({
  given_name: optText,
  family_name: optText,
  email: optText,
  phone: optText,
  address: address.nullish(),
});

const common = { source: id, contact, occurred_at: time };

const event = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('checkout.address_confirmed'),
    ...common,
    external_id: id.nullable(),
    address,
    order_id: id,
  }),
  z.object({
    type: z.literal('contact.updated'),
    ...common,
    external_id: id,
    vendor_fields: z.record(text, text.nullable()),
    origin_is_hearth: z.boolean(),
    version: z.number().int().min(0).optional(),
    hearth_id: id.nullish(),
    // Kept, not stripped: which carried fields are only for linking, and which were emptied on purpose.
    unchanged: z
      .array(z.enum(['given_name', 'family_name', 'email', 'phone', 'address']))
      .max(5)
      .optional(),
    cleared: z.array(z.enum(CLEARABLE_FIELDS)).max(CLEARABLE_FIELDS.length).optional(),
  }),
  z.object({
    type: z.literal('household.changed'),
    ...common,
    external_id: id,
    joined: z
      .object({ household_external_id: id, role: z.enum(['head', 'member']).nullable(), primary: z.boolean() })
      .optional(),
    left: id.optional(),
    origin_is_hearth: z.boolean(),
  }),
  z.object({
    type: z.literal('order.placed'),
    ...common,
    external_id: id.nullable(),
    order_id: id,
    order_name: optText,
    total_minor: amount,
    currency: optText,
    line_count: z.number().int().min(0).max(100_000),
  }),
  z.object({
    type: z.literal('order.reversed'),
    ...common,
    external_id: id.nullable(),
    order_id: id,
    reason: z.enum(['cancelled', 'refunded']),
    refund_id: id.nullable(),
    amount_minor: amount.nullable(),
  }),
  z.object({
    type: z.literal('billing.status_changed'),
    ...common,
    external_id: id,
    status: z.enum(['active', 'past_due', 'delinquent', 'canceled']),
    reason: optText,
  }),
  z.object({
    type: z.literal('billing.address_changed'),
    ...common,
    external_id: id,
    billing_address: address.nullable(),
  }),
  z.object({
    type: z.literal('subscription.changed'),
    ...common,
    external_id: id,
    subscription: z.object({ id, name: optText, status: text }),
  }),
  z.object({ type: z.literal('unsupported'), source: id, vendor_type: text }),
]);

const inbound = z.object({ delivery_id: id, event });

/** The events, sanitised; 400 naming `events[i].<field>` for the first that cannot be applied. */
export function guardEvents(events: InboundEvent[]): InboundEvent[] {
  return events.map((e, i) => {
    const result = inbound.safeParse(e);
    if (result.success) return result.data as InboundEvent;
    const issue = result.error.issues[0]!;
    const path = issue.path[0] === 'event' ? issue.path.slice(1) : issue.path;
    const field = `events[${i}].${path.join('.')}`;
    throw new HearthError('bad_request', `${field}: ${issue.message}`, { field });
  });
}
