import { HearthError } from '../errors.ts';
import type { ColumnSpec } from '../canonical/export-columns.ts';

export type { ColumnSpec, CrmField, OrderField } from '../canonical/export-columns.ts';

/** Header names compare without case, spaces or punctuation: `Mailing_Street` = `Mailing Street`. */
export function headerKey(name: string): string {
  return name
    .replace(/^\uFEFF/, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

export type ColumnIndex<F extends string> = Partial<Record<F, number>>;

/** Where each logical column sits in this file's header; throws naming the first missing one. */
export function resolveColumns<F extends string>(
  file: string,
  header: readonly string[],
  specs: readonly ColumnSpec<F>[],
  what: string,
): ColumnIndex<F> {
  const positions = new Map<string, number>();
  header.forEach((h, i) => {
    const key = headerKey(h);
    if (!positions.has(key)) positions.set(key, i);
  });
  const index: ColumnIndex<F> = {};
  for (const spec of specs) {
    const at = spec.names.map((n) => positions.get(headerKey(n))).find((i) => i !== undefined);
    if (at !== undefined) index[spec.field] = at;
    else if (spec.required)
      throw new HearthError('invalid_input', `${file}: missing required column "${spec.names[0]}" (${what})`);
  }
  return index;
}
