import { type Kysely, sql } from 'kysely';
import type { CustomersTable, Database } from '../db/schema.ts';

export interface CustomerSearch {
  /** Words; each must match the name, e-mail, phone or postcode. */
  q?: string;
  /** An exact e-mail (case and surrounding spaces ignored). */
  email?: string;
  /** The id of the last row of the previous page. */
  after?: string;
  limit: number;
}

/** LIKE wildcards typed by a user are taken literally by dropping them: a search box, not a pattern language. */
const plain = (s: string): string => s.replace(/[%_\\]/g, '');

/** Live (not merged) customers matching a search, in id order, one page. */
export async function searchCustomers(db: Kysely<Database>, s: CustomerSearch): Promise<CustomersTable[]> {
  let q = db.selectFrom('customers').selectAll().where('merged_into', 'is', null).orderBy('id').limit(s.limit);
  if (s.email) q = q.where('email_normalized', '=', s.email.trim().toLowerCase());
  if (s.after) q = q.where('id', '>', s.after);
  for (const word of (s.q ?? '').toLowerCase().split(/\s+/).map(plain).filter(Boolean)) {
    const digits = word.replace(/\D/g, '');
    const like = `%${word}%`;
    q = q.where((eb) =>
      eb.or([
        eb(sql`lower(given_name)`, 'like', like),
        eb(sql`lower(family_name)`, 'like', like),
        eb('email_normalized', 'like', like),
        eb(sql`lower(postal_code)`, 'like', `${word}%`),
        ...(digits.length >= 3 && digits.length === word.replace(/[\s().+-]/g, '').length
          ? [eb('phone', 'like', `%${digits}%`)]
          : []),
      ]),
    );
  }
  return q.execute();
}
