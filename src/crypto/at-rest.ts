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
 * of birth). `lineage`: the `[[field, old, new], ...]` JSON of a change-lineage row keeps its
 * field names in clear and each old/new value is encrypted on its own, so the `change_log` view
 * (which expands that JSON in SQL) still lists who changed which field when.
 */
export const AT_REST: Record<string, Record<string, 'whole' | 'lineage'>> = {
  source_links: { snapshot: 'whole' },
  inbox_events: { payload: 'whole' },
  change_lineage: { changes: 'lineage' },
};

/** Encrypts one stored value under the current key (a value already encrypted is left as it is). */
export function sealValue(cipher: DataCipher, kind: 'whole' | 'lineage', value: string): string {
  if (kind === 'whole') return isEncrypted(value) ? value : cipher.encrypt(value);
  const list = JSON.parse(value) as [string, string | null, string | null][];
  const seal = (v: string | null) => (v === null || isEncrypted(v) ? v : cipher.encrypt(v));
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
  return {
    transformQuery: ({ node }: PluginTransformQueryArgs): RootOperationNode => {
      if (node.kind === 'InsertQueryNode') return sealInsert(cipher, node);
      if (node.kind === 'UpdateQueryNode') return sealUpdate(cipher, node);
      return node;
    },
    transformResult: async ({ result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> => {
      for (const row of result.rows) openRow(cipher, row);
      return result;
    },
  };
}

function openRow(cipher: DataCipher, row: UnknownRow): void {
  for (const [k, v] of Object.entries(row)) {
    if (typeof v !== 'string') continue;
    if (isEncrypted(v)) row[k] = cipher.decrypt(v);
    else if (k === 'changes' && v.includes('"enc1:')) row[k] = openLineage(cipher, v);
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
