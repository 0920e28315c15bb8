/**
 * JSON Schemas of the webhook events Hearth sends to subscribers, as published at `/v1/schemas`.
 * Version 1 is the shape sent today; a change to a shape adds a version here and a line to
 * docs/events-changelog.md. Pure data; a test validates delivered events against these.
 */
type Json = Record<string, unknown>;

const nstr = { type: ['string', 'null'] };
const time = { type: 'string', format: 'date-time' };
const address = {
  type: ['object', 'null'],
  required: ['line1'],
  properties: { line1: { type: 'string' }, line2: nstr, city: nstr, region: nstr, postal_code: nstr, country: nstr },
};
const customer = {
  type: 'object',
  required: ['id', 'given_name', 'family_name', 'email', 'phone', 'address', 'version', 'created_at', 'updated_at'],
  properties: {
    id: { type: 'string' },
    given_name: nstr,
    family_name: nstr,
    email: nstr,
    phone: nstr,
    address: { ...address, properties: { ...address.properties, key: nstr, source: nstr, validated_at: nstr } },
    merged_into: nstr,
    version: { type: 'integer' },
    created_at: time,
    updated_at: time,
  },
};

function envelope(type: string, data: Json): Json {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://hearth.dev/schemas/${type}/1`,
    title: `${type} (version 1)`,
    type: 'object',
    required: ['id', 'type', 'created_at', 'data'],
    properties: { id: { type: 'string' }, type: { const: type }, created_at: time, data },
  };
}

const customerChange = {
  type: 'object',
  required: ['customer', 'previous_address', 'source', 'order_id', 'changed_fields'],
  properties: {
    customer,
    previous_address: address,
    source: { type: 'string' },
    order_id: nstr,
    changed_fields: { type: 'array', items: { type: 'string' } },
  },
};

export interface EventSchema {
  type: string;
  version: number;
  schema: Json;
}

export function eventSchemas(): EventSchema[] {
  return [
    { type: 'address.corrected', version: 1, schema: envelope('address.corrected', customerChange) },
    { type: 'customer.updated', version: 1, schema: envelope('customer.updated', customerChange) },
    {
      type: 'order.enriched',
      version: 1,
      schema: envelope('order.enriched', {
        type: 'object',
        required: [
          'order',
          'customer',
          'household_id',
          'hierarchy_role',
          'points_aggregation_opt_in',
          'tier',
          'loyalty',
        ],
        properties: {
          order: { type: 'object', required: ['id', 'total', 'currency'] },
          customer: { type: 'object', required: ['id'] },
          household_id: nstr,
          hierarchy_role: nstr,
          points_aggregation_opt_in: { type: 'boolean' },
          tier: nstr,
          loyalty: { type: 'object', required: ['account_id', 'points_earned', 'balance'] },
        },
      }),
    },
    {
      type: 'tier.changed',
      version: 1,
      schema: envelope('tier.changed', {
        type: 'object',
        required: ['customer_id', 'household_id', 'previous_tier', 'tier', 'basis', 'qualifying_spend', 'source'],
        properties: {
          customer_id: { type: 'string' },
          household_id: nstr,
          previous_tier: nstr,
          tier: nstr,
          basis: { type: 'string' },
          qualifying_spend: { type: 'number' },
          source: { type: 'string' },
        },
      }),
    },
  ];
}
