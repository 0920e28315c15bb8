import { HearthError } from '../../errors.ts';
import type { AdminClient } from './admin.ts';

// Shopify GraphQL bulk operations: `bulkOperationRunQuery` starts a server-side export, the
// operation is polled until COMPLETED, and its JSONL result is downloaded and read line by line
// (never held whole). Resumable: the operation id is saved before polling, so a rerun after a
// crash polls/reads the same operation instead of starting (and waiting for) a new one.

/** Where the running operation's id is kept between runs (`connector_cursors` in the CLI). */
export interface BulkState {
  load(): Promise<string | null>;
  save(operationId: string | null): Promise<void>;
}

export interface BulkOptions {
  /** First wait between polls, doubled up to 30 s (default 1 s). */
  poll_ms?: number;
  sleep?: (ms: number) => Promise<void>;
  onStatus?: (s: { id: string; status: string; objectCount: string | null; resumed: boolean }) => void;
}

interface BulkOperation {
  id: string;
  status: 'CREATED' | 'RUNNING' | 'COMPLETED' | 'CANCELING' | 'CANCELED' | 'FAILED' | 'EXPIRED';
  errorCode: string | null;
  objectCount: string | null;
  url: string | null;
  partialDataUrl: string | null;
}

const RUN = `mutation run($query: String!) {
  bulkOperationRunQuery(query: $query) { bulkOperation { id status } userErrors { field message } }
}`;
const POLL = `query poll($id: ID!) {
  node(id: $id) { ... on BulkOperation { id status errorCode objectCount url partialDataUrl } }
}`;
const DEAD = new Set(['CANCELED', 'FAILED', 'EXPIRED']);

/** Runs (or resumes) one bulk query and yields each JSONL object as it is read. */
export async function* bulkRead(
  admin: AdminClient,
  query: string,
  state: BulkState,
  o: BulkOptions = {},
): AsyncGenerator<Record<string, unknown>> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let id = await state.load();
  let op: BulkOperation | null = id ? await poll(admin, id) : null;
  const resumed = op !== null && !DEAD.has(op.status);
  if (!op || DEAD.has(op.status)) {
    const res = await admin.graphql<{
      bulkOperationRunQuery: { bulkOperation: { id: string } | null; userErrors: { message: string }[] };
    }>(RUN, { query });
    const started = res.bulkOperationRunQuery;
    if (!started.bulkOperation)
      throw new HearthError('connector_error', `shopify bulk query refused: ${started.userErrors[0]?.message}`, {
        kind: 'invalid',
      });
    id = started.bulkOperation.id;
    await state.save(id);
    op = await poll(admin, id);
  }
  for (let wait = o.poll_ms ?? 1000; op && (op.status === 'CREATED' || op.status === 'RUNNING'); ) {
    o.onStatus?.({ id: op.id, status: op.status, objectCount: op.objectCount, resumed });
    await sleep(wait);
    wait = Math.min(wait * 2, 30_000);
    op = await poll(admin, op.id);
  }
  if (!op || op.status !== 'COMPLETED') {
    await state.save(null);
    throw new HearthError(
      'connector_error',
      `shopify bulk operation ${op?.status ?? 'vanished'} (${op?.errorCode ?? ''})`,
      {
        kind: 'transient',
      },
    );
  }
  o.onStatus?.({ id: op.id, status: op.status, objectCount: op.objectCount, resumed });
  // No url: the query matched nothing.
  if (op.url) yield* jsonLines(await admin.download(op.url));
  // Read to the end: the next run starts a fresh export.
  await state.save(null);
}

async function poll(admin: AdminClient, id: string): Promise<BulkOperation | null> {
  const res = await admin.graphql<{ node: BulkOperation | null }>(POLL, { id }, 1);
  return res.node;
}

async function* jsonLines(res: Response): AsyncGenerator<Record<string, unknown>> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  let line = 0;
  const parse = (text: string) => {
    line++;
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new HearthError('connector_error', `shopify bulk result line ${line} is not JSON`, { kind: 'invalid' });
    }
  };
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      const text = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (text) yield parse(text);
      nl = buffer.indexOf('\n');
    }
  }
  buffer += decoder.decode();
  if (buffer.trim()) yield parse(buffer.trim());
}

/** An order of the bulk export, flattened to the fields a backfill reads. */
export interface BulkOrder {
  id: string;
  name: string;
  email: string | null;
  created_at: string;
  cancelled_at: string | null;
  currency: string | null;
  total: string;
  refunded: string | null;
}

/** The bulk query for orders (optionally created since a date: `YYYY-MM-DD`). */
export function ordersBulkQuery(since?: string): string {
  if (since !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(since))
    throw new HearthError('invalid_input', `--since must be YYYY-MM-DD, got "${since}"`);
  const filter = since ? `(query: "created_at:>=${since}")` : '';
  return `{
  orders${filter} {
    edges { node {
      id name email createdAt cancelledAt currencyCode
      totalPriceSet { shopMoney { amount currencyCode } }
      totalRefundedSet { shopMoney { amount currencyCode } }
    } }
  }
}`;
}

/** One JSONL line of the orders query as a `BulkOrder`; null for lines of nested connections. */
export function bulkOrder(line: Record<string, unknown>): BulkOrder | null {
  if (line.__parentId !== undefined || typeof line.id !== 'string' || !line.id.includes('/Order/')) return null;
  const money = (k: string) => (line[k] as { shopMoney?: { amount?: string } } | null)?.shopMoney?.amount ?? null;
  return {
    id: line.id.replace(/^gid:\/\/shopify\/Order\//, ''),
    name: String(line.name ?? ''),
    email: (line.email as string | null) ?? null,
    created_at: String(line.createdAt ?? ''),
    cancelled_at: (line.cancelledAt as string | null) ?? null,
    currency: (line.currencyCode as string | null) ?? null,
    total: String(money('totalPriceSet') ?? ''),
    refunded: money('totalRefundedSet'),
  };
}

/** The bulk query for orders with their shipping address and phones (the drift audit). */
export const ORDERS_WITH_SHIPPING_QUERY = `{
  orders {
    edges { node {
      id name email phone createdAt
      shippingAddress { address1 address2 city provinceCode zip countryCodeV2 phone }
    } }
  }
}`;

/** The columns of a Shopify orders export, as the audit's orders reader expects them. */
export const ORDER_EXPORT_COLUMNS = [
  'Name',
  'Email',
  'Created at',
  'Shipping Address1',
  'Shipping Address2',
  'Shipping City',
  'Shipping Province',
  'Shipping Zip',
  'Shipping Country',
  'Shipping Phone',
  'Phone',
  'Id',
] as const;

/** One JSONL order line as an orders-export row (null for nested lines and orders without shipping). */
export function orderExportRow(line: Record<string, unknown>): string[] | null {
  if (line.__parentId !== undefined || typeof line.id !== 'string' || !line.id.includes('/Order/')) return null;
  const a = line.shippingAddress as Record<string, string | null> | null | undefined;
  if (!a) return null;
  const text = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  return [
    text(line.name),
    text(line.email),
    text(line.createdAt),
    text(a.address1),
    text(a.address2),
    text(a.city),
    text(a.provinceCode),
    text(a.zip),
    text(a.countryCodeV2),
    text(a.phone),
    text(line.phone),
    line.id.replace(/^gid:\/\/shopify\/Order\//, ''),
  ];
}
