/**
 * JSON Schemas of the webhook events Hearth sends to subscribers, every version of each, as
 * published at `/v1/schemas`. A change to a shape adds a version here (the next global number, see
 * connectors/webhook/versions.ts, which steps events down to a subscriber's pin) and a line to
 * docs/events-changelog.md. Pure data; tests validate delivered events of each version against these.
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

function envelope(type: string, data: Json, version = 1): Json {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://hearth.dev/schemas/${type}/${version}`,
    title: `${type} (version ${version})`,
    type: 'object',
    // Version 1 events queued before `schema_version` existed lack it; every later one carries it.
    required:
      version === 1 ? ['id', 'type', 'created_at', 'data'] : ['id', 'type', 'schema_version', 'created_at', 'data'],
    properties: {
      id: { type: 'string' },
      type: { const: type },
      schema_version: { const: version },
      created_at: time,
      data,
    },
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
      type: 'order.enriched',
      version: 2,
      schema: envelope(
        'order.enriched',
        {
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
            order: {
              type: 'object',
              required: ['id', 'total_minor', 'currency'],
              properties: { total_minor: { type: 'integer' }, currency: { type: 'string' } },
              not: { required: ['total'] },
            },
            customer: { type: 'object', required: ['id'] },
            household_id: nstr,
            hierarchy_role: nstr,
            points_aggregation_opt_in: { type: 'boolean' },
            tier: {
              type: ['object', 'null'],
              required: ['name', 'basis', 'basis_id'],
              properties: {
                name: { type: 'string' },
                basis: { enum: ['household', 'individual'] },
                basis_id: { type: 'string' },
              },
            },
            loyalty: { type: 'object', required: ['account_id', 'points_earned', 'balance'] },
          },
        },
        2,
      ),
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
