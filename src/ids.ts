import { monotonicFactory } from 'ulidx';

/** Prefixes of Hearth's ids: sortable (ULID) and self-describing, like Stripe's. */
export type IdPrefix =
  | 'cus'
  | 'hh'
  | 'evt'
  | 'job'
  | 'led'
  | 'chg'
  | 'key'
  | 'mc'
  | 'drf'
  | 'run'
  | 'rev'
  | 'mrg'
  | 'wrk'
  | 'hm'
  | 'rvt'
  | 'flg'
  | 'shw'
  | 'qlt';

const next = monotonicFactory();

export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  return `${prefix}_${next(now).toLowerCase()}`;
}
