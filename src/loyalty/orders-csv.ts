import { parse } from 'csv-parse/sync';
import { HearthError } from '../errors.ts';
import { toMinor } from './tiers.ts';

/** One order of a Shopify orders export (order fields come from its first row). */
export interface ExportedOrder {
  /** `#1001` */
  name: string;
  /** The numeric order id (`Id` column), when the export has it. */
  id: string | null;
  email: string | null;
  currency: string | null;
  total_minor: number;
  refunded_minor: number;
  created_at: number;
  cancelled: boolean;
  line_rows: number;
  /** 1-based line of the order's first row in the file (for messages). */
  line: number;
}

const REQUIRED = ['Name', 'Email', 'Total', 'Created at'] as const;
const SHOPIFY_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?\s*(?:(Z|UTC)|([+-])(\d{2}):?(\d{2}))?$/;

/** Epoch ms of `2024-05-01 10:00:00 -0400` (ISO-8601 too; no offset = UTC); NaN if not a date. */
export function parseExportDate(raw: string): number {
  const m = SHOPIFY_DATE.exec(raw.trim());
  if (!m) return Number.NaN;
  const [, y, mo, d, h = '0', mi = '0', s = '0', , sign, oh, om] = m;
  const offset = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000 : 0;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - offset;
}

/**
 * Reads a Shopify orders export: one row per line item, order fields on the first row of each
 * `Name`. Every order is validated before anything is returned, so a bad file writes nothing;
 * the error names the line and column.
 */
export function readOrdersExport(text: string, file = 'orders.csv'): ExportedOrder[] {
  let rows: string[][];
  try {
    rows = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: true });
  } catch (err) {
    throw new HearthError('invalid_input', `${file}: not a readable CSV (${(err as Error).message.split('\n')[0]})`);
  }
  const [header, ...body] = rows;
  if (!header) throw new HearthError('invalid_input', `${file}: empty file`);
  const col = columnIndex(header, file);
  const orders = new Map<string, ExportedOrder>();
  body.forEach((r, i) => {
    const name = (r[col.Name] ?? '').trim();
    if (!name) throw new HearthError('invalid_input', `${file} line ${i + 2}: Name is empty`);
    const known = orders.get(name);
    if (known) {
      known.line_rows++;
      return;
    }
    orders.set(name, toOrder(r, col, name, i + 2, file));
  });
  return [...orders.values()];
}

type Columns = Record<(typeof REQUIRED)[number], number> & {
  Id: number;
  Currency: number;
  'Refunded Amount': number;
  'Cancelled at': number;
};

function columnIndex(header: string[], file: string): Columns {
  const at = (name: string) => header.findIndex((h) => h.trim() === name);
  for (const c of REQUIRED)
    if (at(c) < 0)
      throw new HearthError('invalid_input', `${file}: column "${c}" is missing (is this a Shopify orders export?)`);
  return {
    Name: at('Name'),
    Email: at('Email'),
    Total: at('Total'),
    'Created at': at('Created at'),
    Id: at('Id'),
    Currency: at('Currency'),
    'Refunded Amount': at('Refunded Amount'),
    'Cancelled at': at('Cancelled at'),
  };
}

function toOrder(r: string[], col: Columns, name: string, line: number, file: string): ExportedOrder {
  const cell = (i: number) => (i >= 0 ? (r[i] ?? '').trim() : '');
  const total = toMinor(cell(col.Total));
  if (total === null)
    throw new HearthError(
      'invalid_input',
      `${file} line ${line}: Total "${cell(col.Total)}" of order ${name} is not an amount`,
    );
  const created = parseExportDate(cell(col['Created at']));
  if (Number.isNaN(created))
    throw new HearthError(
      'invalid_input',
      `${file} line ${line}: Created at "${cell(col['Created at'])}" of order ${name} is not a date`,
    );
  const refunded = toMinor(cell(col['Refunded Amount'])) ?? 0;
  return {
    name,
    id: cell(col.Id).replace(/^'/, '') || null,
    email: cell(col.Email) || null,
    currency: cell(col.Currency) || null,
    total_minor: total,
    refunded_minor: refunded,
    created_at: created,
    cancelled: cell(col['Cancelled at']) !== '',
    line_rows: 1,
    line,
  };
}
