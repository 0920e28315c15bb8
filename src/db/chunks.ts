/**
 * Splits a list into slices of at most `size`: multi-row statements and `in (...)` lists stay under
 * both dialects' parameter limits (SQLite 32,766, PostgreSQL 65,535 per statement).
 */
export function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}
