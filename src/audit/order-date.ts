const SHOPIFY_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?\s*(?:(Z|UTC)|([+-])(\d{2}):?(\d{2}))?$/;

/**
 * Epoch milliseconds of a Shopify export timestamp (`2024-05-01 10:00:00 -0400`; ISO-8601 and a
 * bare date are accepted too; no offset means UTC). NaN when it is not a date.
 */
export function parseOrderDate(raw: string): number {
  const m = SHOPIFY_DATE.exec(raw.trim());
  if (!m) return Number.NaN;
  const [, y, mo, d, h = '0', mi = '0', s = '0', , sign, oh, om] = m;
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > 31) return Number.NaN;
  const offset = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000 : 0;
  return utc - offset;
}

/** Whole months between two instants (30.44-day months), never negative. */
export function monthsBetween(fromMs: number, toMs: number): number {
  return Math.max(0, Math.floor((toMs - fromMs) / (30.436875 * 86_400_000)));
}
