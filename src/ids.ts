import { getRandomValues } from 'node:crypto';
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
  | 'qlt'
  | 'ers'
  | 'ehd';

// ulidx asks the system for random bytes once per character (16 calls per id); drawing them from a
// pooled buffer of crypto-grade random words keeps ids as unpredictable at a fraction of the cost.
const pool = new Uint32Array(1024);
let drawn = pool.length;
function pooledRandom(): number {
  if (drawn === pool.length) {
    getRandomValues(pool);
    drawn = 0;
  }
  return pool[drawn++]! / 2 ** 32;
}

const next = monotonicFactory(pooledRandom);

export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  return `${prefix}_${next(now).toLowerCase()}`;
}
