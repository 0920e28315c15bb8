import type {
  ColumnUpdateNode,
  InsertQueryNode,
  KyselyPlugin,
  OperationNode,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
  UpdateQueryNode,
} from 'kysely';
import { type DataCipher, isEncrypted } from './data-keys.ts';

/**
 * What is encrypted at rest, by table and column. `whole`: the column's text is one encrypted
 * value (a source snapshot, an inbox payload: JSON that holds names, e-mail, phone, address, date
 * of birth; a value held for quality review, a drift finding's values). `lineage`: the
 * `[[field, old, new], ...]` JSON of a change-lineage row keeps its field names in clear and each
 * old/new value is encrypted on its own, so the `change_log` view (which expands that JSON in SQL)
 * still lists who changed which field when.
 */
export const AT_REST: Record<string, Record<string, 'whole' | 'lineage'>> = {
  source_links: { snapshot: 'whole' },
  inbox_events: { payload: 'whole' },
  change_lineage: { changes: 'lineage' },
  // Values held back by a quality rule (the current and the proposed one).
  quality_reviews: { old_value: 'whole', new_value: 'whole' },
  // What reconciliation found: Hearth's value, the system's, and the evidence (both numbers...).
  drift_findings: { canonical_value: 'whole', system_value: 'whole', detail: 'whole' },
};

/**
 * Encrypts one value as written by Hearth (always clear text: every reader gets values decrypted,
 * only rotation handles stored values, on the raw handle). A clear value that looks like
 * ciphertext (`enc1:...` typed into a CRM) is encrypted like any other.
 */
export function sealValue(cipher: DataCipher, kind: 'whole' | 'lineage', value: string): string {
  if (kind === 'whole') return cipher.encrypt(value);
  const list = JSON.parse(value) as [string, string | null, string | null][];
  const seal = (v: string | null) => (v === null ? v : cipher.encrypt(v));
  return JSON.stringify(list.map(([f, o, n]) => [f, seal(o), seal(n)]));
}

/** Re-encrypts one stored value under the current key (clear values get encrypted). */
export function resealValue(cipher: DataCipher, kind: 'whole' | 'lineage', value: string): string {
  if (kind === 'whole') return cipher.encrypt(cipher.decrypt(value));
  const list = JSON.parse(value) as [string, string | null, string | null][];
  const again = (v: string | null) => (v === null ? v : cipher.encrypt(cipher.decrypt(v)));
  return JSON.stringify(list.map(([f, o, n]) => [f, again(o), again(n)]));
}

/** True when every encrypted part of a stored value is under `keyId` and nothing is left in clear. */
export function allUnder(cipher: DataCipher, kind: 'whole' | 'lineage', value: string, keyId: string): boolean {
  if (kind === 'whole') return cipher.keyIdOf(value) === keyId;
  const list = JSON.parse(value) as [string, string | null, string | null][];
  return list.every(([, o, n]) => [o, n].every((v) => v === null || cipher.keyIdOf(v) === keyId));
}

/**
 * A Kysely plugin that encrypts the `AT_REST` columns in INSERT / UPDATE / upsert statements and
 * decrypts any `enc1:` value in results. Writers and readers keep handling clear text; only the
 * stored rows change. Installed only when a data key is configured (no cost when encryption is off).
 * SQL that compares or searches inside these columns would see ciphertext: none does (the change
 * log is filtered by customer, field, source and time, never by value).
 */
export function atRestPlugin(cipher: DataCipher): KyselyPlugin {
  // Results are opened only for queries that read an encrypted table (or the change_log view), and
  // only in the columns that hold encrypted values: a clear value elsewhere that happens to start
  // with `enc1:` (a name typed into a CRM) is never taken for ciphertext.
  const reading = new WeakMap<object, true>();
  return {
    transformQuery: ({ node, queryId }: PluginTransformQueryArgs): RootOperationNode => {
      if (touchesEncrypted(node)) reading.set(queryId, true);
      if (node.kind === 'InsertQueryNode') return sealInsert(cipher, node);
      if (node.kind === 'UpdateQueryNode') return sealUpdate(cipher, node);
      return node;
    },
    transformResult: async ({ result, queryId }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> => {
      if (reading.has(queryId)) for (const row of result.rows) openRow(cipher, row);
      return result;
    },
  };
}

/** The tables whose rows carry encrypted values, and the view that expands the lineage. */
const ENCRYPTED_SOURCES = new Set([...Object.keys(AT_REST), 'change_log']);
/** Result columns that may hold encrypted values (the `change_log` view's per-field values included). */
const OPENED_COLUMNS = new Set(
  Object.values(AT_REST)
    .flatMap((cols) => Object.keys(cols))
    .concat(['old_value', 'new_value']),
);

function touchesEncrypted(node: unknown): boolean {
  if (typeof node !== 'object' || node === null) return false;
  if (Array.isArray(node)) return node.some(touchesEncrypted);
  const n = node as { kind?: string; table?: { identifier?: { name?: string } } };
  if (n.kind === 'TableNode') return ENCRYPTED_SOURCES.has(n.table?.identifier?.name ?? '');
  if (n.kind === 'ValueNode' || n.kind === 'PrimitiveValueListNode') return false;
  return Object.values(node).some(touchesEncrypted);
}

function openRow(cipher: DataCipher, row: UnknownRow): void {
  for (const k of Object.keys(row)) {
    const v = row[k];
    if (typeof v !== 'string' || !OPENED_COLUMNS.has(k)) continue;
    if (k === 'changes') {
      if (v.includes('"enc1:')) row[k] = openLineage(cipher, v);
    } else if (isEncrypted(v)) row[k] = cipher.decrypt(v);
  }
}

function openLineage(cipher: DataCipher, value: string): string {
  const list = JSON.parse(value) as [string, string | null, string | null][];
  const open = (v: string | null) => (v === null ? v : cipher.decrypt(v));
  return JSON.stringify(list.map(([f, o, n]) => [f, open(o), open(n)]));
}

const nameOf = (n: OperationNode | undefined): string | null => {
  const t = n as { kind?: string; table?: { identifier?: { name?: string } }; node?: OperationNode } | undefined;
  if (t?.kind === 'TableNode') return t.table?.identifier?.name ?? null;
  if (t?.kind === 'AliasNode') return nameOf(t.node);
  return null;
};

const columnOf = (n: OperationNode): string => (n as unknown as { column: { name: string } }).column.name;

function sealInsert(cipher: DataCipher, node: InsertQueryNode): InsertQueryNode {
  const rules = AT_REST[nameOf(node.into) ?? ''];
  if (!rules || !node.columns) return node;
  const kinds = node.columns.map((c) => rules[columnOf(c)]);
  if (kinds.every((k) => k === undefined)) return node;
  const seal = (v: unknown, i: number) => {
    const kind = kinds[i];
    return kind && typeof v === 'string' ? sealValue(cipher, kind, v) : v;
  };
  let values = node.values;
  if (values?.kind === 'ValuesNode') {
    const lists = (values as unknown as { values: OperationNode[] }).values.map((list) => {
      if (list.kind === 'PrimitiveValueListNode') {
        const l = list as unknown as { values: unknown[] };
        return { ...list, values: l.values.map(seal) } as OperationNode;
      }
      const l = list as unknown as { values: OperationNode[] };
      return { ...list, values: l.values.map((v, i) => sealNode(v, (x) => seal(x, i))) } as OperationNode;
    });
    values = { ...values, values: lists } as OperationNode;
  }
  const onConflict = node.onConflict?.updates
    ? { ...node.onConflict, updates: node.onConflict.updates.map((u) => sealUpdateNode(cipher, rules, u)) }
    : node.onConflict;
  return { ...node, values, ...(onConflict ? { onConflict } : {}) } as InsertQueryNode;
}

function sealUpdate(cipher: DataCipher, node: UpdateQueryNode): UpdateQueryNode {
  const rules = AT_REST[nameOf(node.table) ?? ''];
  if (!rules || !node.updates) return node;
  return { ...node, updates: node.updates.map((u) => sealUpdateNode(cipher, rules, u)) } as UpdateQueryNode;
}

function sealUpdateNode(
  cipher: DataCipher,
  rules: Record<string, 'whole' | 'lineage'>,
  u: ColumnUpdateNode,
): ColumnUpdateNode {
  const kind = rules[columnOf(u.column)];
  if (!kind) return u;
  return { ...u, value: sealNode(u.value, (v) => (typeof v === 'string' ? sealValue(cipher, kind, v) : v)) };
}

/** A bound value is sealed; anything else (a reference such as `excluded.snapshot`) is left alone. */
function sealNode(n: OperationNode, seal: (v: unknown) => unknown): OperationNode {
  if (n.kind !== 'ValueNode') return n;
  const v = n as unknown as { value: unknown };
  return { ...n, value: seal(v.value) } as OperationNode;
}
