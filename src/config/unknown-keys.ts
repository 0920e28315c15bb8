import type { z } from 'zod';
import { HearthError } from '../errors.ts';

type Schema = z.core.$ZodType;
type Def = { type: string; innerType?: Schema; in?: Schema; shape?: Record<string, Schema>; element?: Schema };

/** Wrappers (default, optional, nullable, pipe...) around the schema that says what keys an object has. */
function unwrap(s: Schema): Schema {
  let cur = s;
  for (let i = 0; i < 20; i++) {
    const def = (cur as unknown as { _zod: { def: Def } })._zod.def;
    const next = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
    if (!next) return cur;
    cur = next;
  }
  return cur;
}

const defOf = (s: Schema): Def => (unwrap(s) as unknown as { _zod: { def: Def } })._zod.def;

/**
 * The first key of `raw` that the schema does not know, as an error naming it and the nearest
 * known key at that level. zod's own objects strip unknown keys silently: a misspelt `sever:`
 * would start with the default server. Records (maps keyed by the user) are not checked.
 */
export function rejectUnknownKeys(schema: Schema, raw: unknown, path: string[] = []): void {
  const def = defOf(schema);
  if (def.type === 'array' && Array.isArray(raw) && def.element) {
    raw.forEach((item, i) => rejectUnknownKeys(def.element!, item, [...path, String(i)]));
    return;
  }
  if (def.type !== 'object' || !def.shape || typeof raw !== 'object' || raw === null || Array.isArray(raw)) return;
  const known = Object.keys(def.shape);
  for (const [key, value] of Object.entries(raw)) {
    const child = def.shape[key];
    if (!child) throw unknownKey([...path, key], known);
    rejectUnknownKeys(child, value, [...path, key]);
  }
}

function unknownKey(path: string[], known: string[]): HearthError {
  const key = path.at(-1)!;
  const where = path.join('.');
  const near = nearest(key, known);
  const hint = near ? `; did you mean ${[...path.slice(0, -1), near].join('.')}?` : `; known: ${known.join(', ')}`;
  return new HearthError('invalid_config', `config ${where}: unknown key${hint}`, { path: where });
}

/** The known key closest to `key` by edit distance, if it is close enough to be a typo. */
export function nearest(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== null && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : null;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
