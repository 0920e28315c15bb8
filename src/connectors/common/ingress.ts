import { z } from 'zod';
import { HearthError } from '../../errors.ts';

/**
 * What every connector's ingress shares: a JSON reader that refuses deep nesting before parsing,
 * and a zod check that names the first bad field. Vendors nest a few levels; anything deeper
 * is hostile (a 10k-deep array would overflow the stack of whatever walks it later).
 */
export const MAX_JSON_DEPTH = 32;

/** Largest amount accepted, in minor units (one billion in major units): points stay exact everywhere. */
export const MAX_AMOUNT_MINOR = 100_000_000_000;

/** Longest string accepted in any field an event carries. */
export const MAX_TEXT = 2000;

const OPEN = 0x5b; // [
const OPEN_OBJ = 0x7b; // {
const CLOSE = 0x5d; // ]
const CLOSE_OBJ = 0x7d; // }
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The deepest nesting of arrays and objects in JSON bytes, stopping as soon as `limit` is passed. */
export function jsonDepthExceeds(raw: Buffer, limit: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === OPEN || b === OPEN_OBJ) {
      if (++depth > limit) return true;
    } else if (b === CLOSE || b === CLOSE_OBJ) depth--;
  }
  return false;
}

/** Parses a webhook body as JSON; 400 naming `body` when it is not JSON or nests too deep. */
export function parseJsonBody(raw: Buffer): unknown {
  if (jsonDepthExceeds(raw))
    throw new HearthError('bad_request', `body nests deeper than ${MAX_JSON_DEPTH} levels`, { field: 'body' });
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HearthError('bad_request', 'body is not valid JSON', { field: 'body' });
  }
}

/** Validates `value` against `schema`; a failure is a 400 naming the first bad field (`prefix` + its path). */
export function checkShape<T>(schema: z.ZodType<T>, value: unknown, vendor: string, prefix = ''): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  const field = `${prefix}${path}`.replace(/^\./, '') || 'body';
  throw new HearthError('bad_request', `${vendor} payload: ${field}: ${issue.message}`, { field });
}

/** A vendor text field: a string (or null/absent), bounded; NUL and other control bytes are stripped. */
export const vendorText = z.string().max(MAX_TEXT).transform(stripControl).nullish();

/** A vendor record id: a string or a safe integer. */
export const vendorId = z.union([z.string().min(1).max(200), z.number().int().safe()]);

/** Removes NUL and the C0 controls other than tab and newline (PostgreSQL text refuses NUL). */
export function stripControl(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '');
}

/**
 * Money as a vendor writes it ("59.00", 59) in exact minor units, or null when absent. Parsed
 * from the decimal digits, never through a float product; more than two decimals, a negative
 * or an amount above `MAX_AMOUNT_MINOR` is refused.
 */
export const vendorMoney = z
  .union([z.string().max(32), z.number()])
  .nullish()
  .transform((v, ctx) => {
    if (v === undefined || v === null || v === '') return null;
    const minor = moneyToMinor(typeof v === 'number' ? numberText(v) : v.trim());
    if (minor === null) ctx.addIssue({ code: 'custom', message: 'must be an amount with at most 2 decimals' });
    else if (minor > MAX_AMOUNT_MINOR) ctx.addIssue({ code: 'custom', message: 'amount is out of range' });
    return minor;
  });

function numberText(n: number): string {
  return Number.isFinite(n) && Math.abs(n) < 1e15 ? String(n) : 'x';
}

/** "59.5" → 5950; null unless a plain non-negative decimal with at most two fraction digits. */
export function moneyToMinor(text: string): number | null {
  const m = /^(\d{1,15})(?:\.(\d{0,2})0*)?$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}
