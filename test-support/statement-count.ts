import type {
  KyselyPlugin,
  OperationNode,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import type { HearthDb } from '../src/db/database.ts';

/**
 * Counts the SQL statements a piece of code sends to the database (each one a round trip), by
 * kind and first table: `select customers`, `insert jobs`, `raw select pg_advisory_xact_lock`.
 * BEGIN and COMMIT are not statements Kysely plans, so they are not counted here (two per
 * transaction on top).
 */
export interface StatementCounter {
  readonly total: number;
  /** Statements per label, in the order first seen. */
  readonly byLabel: Map<string, number>;
  reset(): void;
}

/** The same database, with every statement run through it (transactions included) counted. */
export function countingDb(hdb: HearthDb): { hdb: HearthDb; counter: StatementCounter } {
  const labels = new Map<string, string>();
  const byLabel = new Map<string, number>();
  let total = 0;
  const plugin: KyselyPlugin = {
    transformQuery({ node, queryId }: PluginTransformQueryArgs): RootOperationNode {
      labels.set(queryId.queryId, labelOf(node));
      return node;
    },
    async transformResult({ result, queryId }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      const label = labels.get(queryId.queryId) ?? 'unknown';
      labels.delete(queryId.queryId);
      total++;
      byLabel.set(label, (byLabel.get(label) ?? 0) + 1);
      return result;
    },
  };
  const counter: StatementCounter = {
    get total() {
      return total;
    },
    byLabel,
    reset() {
      total = 0;
      byLabel.clear();
    },
  };
  return { hdb: { ...hdb, db: hdb.db.withPlugin(plugin) }, counter };
}

const VERBS: Record<string, string> = {
  SelectQueryNode: 'select',
  InsertQueryNode: 'insert',
  UpdateQueryNode: 'update',
  DeleteQueryNode: 'delete',
};

function labelOf(node: RootOperationNode): string {
  if (node.kind === 'RawNode') {
    const text = node.sqlFragments.join('?').replace(/\s+/g, ' ').trim();
    return `raw ${text.slice(0, 48)}`;
  }
  const verb = VERBS[node.kind] ?? node.kind;
  const table = node.kind === 'InsertQueryNode' ? node.into?.table.identifier.name : firstTable(node);
  const union = node.kind === 'SelectQueryNode' && node.setOperations?.length ? ' (union)' : '';
  return `${verb} ${table ?? '?'}${union}`;
}

/** The first table a statement names, depth first (a select's FROM, an update's table). */
function firstTable(node: unknown, depth = 0): string | undefined {
  if (!node || typeof node !== 'object' || depth > 12) return undefined;
  const n = node as OperationNode & { table?: { identifier?: { name?: string } } };
  if (n.kind === 'TableNode' && n.table?.identifier?.name) return n.table.identifier.name;
  for (const key of ['from', 'froms', 'table', 'node', 'expression']) {
    const child = (node as Record<string, unknown>)[key];
    const list = Array.isArray(child) ? child : [child];
    for (const c of list) {
      const found = firstTable(c, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}
