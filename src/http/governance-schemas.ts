/** OpenAPI components of the governance routes (routes/governance.ts), spread into `COMPONENTS`. */
type Json = Record<string, unknown>;

const str = { type: 'string' } as const;
const nstr = { type: ['string', 'null'] } as const;
const int = { type: 'integer' } as const;
const bool = { type: 'boolean' } as const;
const time = { type: 'string', format: 'date-time' } as const;
const ntime = { type: ['string', 'null'], format: 'date-time' } as const;
const obj = (properties: Json, required: string[] = Object.keys(properties)): Json => ({
  type: 'object',
  properties,
  required,
});
const arr = (items: Json): Json => ({ type: 'array', items });

const step = obj({
  customer_id: str,
  field: str,
  from: nstr,
  to: nstr,
  restore_source: nstr,
  reverted: arr(str),
});
const conflict = obj({
  customer_id: str,
  field: str,
  reverting: str,
  newer: obj({ id: str, source_system: str, actor: str, changed_at: int, new_value: nstr }),
});

export const GOVERNANCE_COMPONENTS: Record<string, Json> = {
  RevertResult: obj({
    id: { ...nstr, description: 'the revert (its event id in the change log); null for a dry run' },
    dry_run: bool,
    applied: bool,
    selected: { ...int, description: 'field changes the selector matched' },
    steps: arr(step),
    conflicts: arr(conflict),
    unsupported: arr(obj({ id: str, field: str })),
    jobs: { ...int, description: 'outbound jobs queued with the revert' },
  }),
  RevertRecord: obj({
    id: str,
    selector: { type: 'object', additionalProperties: true },
    actor: str,
    changes: int,
    customers: int,
    skipped: arr(conflict),
    created_at: time,
  }),
  Flag: obj({
    name: str,
    value: str,
    default: str,
    values: arr(str),
    about: str,
    updated_by: nstr,
    updated_at: ntime,
  }),
  FlagChange: obj({ id: str, name: str, from: nstr, to: str, actor: str, reason: nstr, changed_at: time }),
  FlagSetResult: obj({
    name: str,
    value: str,
    changed: bool,
    released: { oneOf: [{ type: 'null' }, obj({ sent: int, dropped: int })] },
  }),
  ShadowReport: obj({
    target: str,
    contacts: int,
    writes: int,
    fields: arr(obj({ field: str, contacts: int })),
    lines: arr(str),
  }),
  ShadowWrite: obj({
    id: str,
    job_id: str,
    target: str,
    kind: str,
    key: str,
    customer_id: nstr,
    fields: arr(str),
    payload: {},
    created_at: time,
  }),
  FlagList: {
    ...obj({ data: arr({ $ref: 'Flag#' }) }),
    'x-not-a-list': true,
    description: 'every flag, not paged (a handful per connector)',
  },
  EventSchemas: {
    ...obj({
      data: arr(obj({ type: str, version: int, schema: { type: 'object', additionalProperties: true } })),
    }),
    'x-not-a-list': true,
    description: 'the JSON Schema of each webhook event type Hearth sends, by version',
  },
  ShadowReports: { ...obj({ data: arr({ $ref: 'ShadowReport#' }) }), 'x-not-a-list': true },
  QualityReview: obj({
    id: str,
    customer_id: str,
    source_system: str,
    event_id: nstr,
    field: str,
    rule: str,
    reason: str,
    old_value: nstr,
    new_value: nstr,
    status: { type: 'string', enum: ['open', 'approved', 'rejected'] },
    decided_by: nstr,
    decided_at: ntime,
    created_at: time,
  }),
};
