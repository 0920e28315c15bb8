import type { ChangeLineageTable, ChangeLogTable } from './schema.ts';

/**
 * Per-field changes as lineage rows: consecutive changes of one event to one customer (same
 * source, actor and time) fold into one row whose `changes` lists `[field, old, new]` in order.
 * The row takes the first change's id, so the `change_log` view (`<id>.NN`) keeps their order.
 */
export function toLineage(changes: ChangeLogTable[]): ChangeLineageTable[] {
  const rows: ChangeLineageTable[] = [];
  let current: { row: ChangeLineageTable; list: [string, string | null, string | null][] } | null = null;
  const flush = () => {
    if (current) rows.push({ ...current.row, changes: JSON.stringify(current.list) });
  };
  for (const c of changes) {
    const same =
      current !== null &&
      current.row.customer_id === c.customer_id &&
      current.row.event_id === c.event_id &&
      current.row.source_system === c.source_system &&
      current.row.actor === c.actor &&
      current.row.changed_at === c.changed_at;
    if (!same) {
      flush();
      current = {
        row: {
          id: c.id,
          customer_id: c.customer_id,
          source_system: c.source_system,
          actor: c.actor,
          event_id: c.event_id,
          changed_at: c.changed_at,
          changes: '',
        },
        list: [],
      };
    }
    current!.list.push([c.field, c.old_value, c.new_value]);
  }
  flush();
  return rows;
}
