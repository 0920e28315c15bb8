import type { ChangeLogTable, InboxEventsTable, JobsTable, SourceLinksTable } from '../db/schema.ts';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Public (snake_case) shapes of stored rows; times as ISO-8601. */
export function jobView(j: JobsTable) {
  return {
    id: j.id,
    target: j.target,
    kind: j.kind,
    key: j.job_key,
    status: j.status,
    attempts: j.attempts,
    max_attempts: j.max_attempts,
    customer_id: j.customer_id,
    event_id: j.event_id,
    last_error: j.last_error,
    last_error_kind: j.last_error_kind,
    origin_at: iso(j.origin_at),
    run_at: iso(j.run_at),
    created_at: iso(j.created_at),
    updated_at: iso(j.updated_at),
    done_at: iso(j.done_at),
    lag_seconds: j.done_at === null ? null : (j.done_at - j.origin_at) / 1000,
    payload: JSON.parse(j.payload) as unknown,
  };
}

export function linkView(l: SourceLinksTable) {
  return {
    system: l.system,
    external_id: l.external_id,
    snapshot: l.snapshot ? (JSON.parse(l.snapshot) as unknown) : null,
    linked_at: iso(l.created_at),
    updated_at: iso(l.updated_at),
  };
}

export function changeView(c: ChangeLogTable) {
  return {
    id: c.id,
    field: c.field,
    old_value: c.old_value,
    new_value: c.new_value,
    source_system: c.source_system,
    actor: c.actor,
    event_id: c.event_id,
    changed_at: iso(c.changed_at),
  };
}

export function eventView(e: InboxEventsTable) {
  return {
    id: e.id,
    connector: e.connector,
    delivery_id: e.delivery_id,
    type: e.event_type,
    status: e.status,
    attempts: e.attempts,
    error: e.error,
    received_at: iso(e.received_at),
    applied_at: iso(e.applied_at),
    event: JSON.parse(e.payload) as unknown,
  };
}
