import type { Kysely } from 'kysely';
import { normalizeAddress } from '../address/index.ts';
import type { PostalAddress } from '../address/types.ts';
import type { CanonicalContact } from '../canonical/types.ts';
import { chunks } from '../db/chunks.ts';
import type { CustomersTable, Database } from '../db/schema.ts';
import { dobDiffers, FIELD_COMPARATORS, type ComparisonContext, type Level } from './comparators.ts';
import { strongConflict } from './engine.ts';
import { type Explanation, type FsModel } from './fellegi-sunter.ts';
import { canonicalEmail } from './prepare.ts';
import { simplify } from './strings.ts';
import type { PersonInput, PreparedRecord } from './types.ts';

type Db = Kysely<Database>;

/** The identity settings the apply flows use (from `identity` in config). */
export interface IdentitySettings {
  auto_link: number;
  review: number;
  default_country: string;
  model: FsModel;
}

const DEFAULT_PARAMS: Record<string, { m: number[]; u: number[] }> = {
  given_name: { m: [0.01, 0.05, 0.12, 0.82], u: [0.93, 0.03, 0.03, 0.01] },
  family_name: { m: [0.03, 0.04, 0.1, 0.83], u: [0.9, 0.05, 0.02, 0.03] },
  date_of_birth: { m: [0.02, 0.02, 0.03, 0.1, 0.83], u: [0.94, 0.03, 0.01, 0.01, 0.01] },
  national_id: { m: [0.02, 0.02, 0.04, 0.92], u: [0.997, 0.001, 0.001, 0.001] },
  email: { m: [0.4, 0.05, 0.55], u: [0.997, 0.002, 0.001] },
  phone: { m: [0.35, 0.05, 0.6], u: [0.99, 0.005, 0.005] },
  address_line2: { m: [0.15, 0.05, 0.1, 0.7], u: [0.7, 0.1, 0.1, 0.1] },
  street_address: { m: [0.15, 0.05, 0.1, 0.7], u: [0.95, 0.02, 0.01, 0.02] },
  locality: { m: [0.1, 0.05, 0.1, 0.75], u: [0.75, 0.1, 0.05, 0.1] },
};
/** Prior: the chance that a candidate (sharing a blocking key) is the same person. */
const DEFAULT_LAMBDA = 0.001;

/** The ingest model: defaults above; a field the table does not know (added later) weighs nothing. */
export function defaultIngestModel(): FsModel {
  const params = FIELD_COMPARATORS.map((c) => {
    const p = DEFAULT_PARAMS[c.name];
    return p && p.m.length === c.levels.length ? p : { m: c.levels.map(() => 1), u: c.levels.map(() => 1) };
  });
  return {
    lambda: DEFAULT_LAMBDA,
    m: params.map((p) => p.m),
    u: params.map((p) => p.u),
    iterations: 0,
    tf: FIELD_COMPARATORS.map(() => null),
  };
}
export const DEFAULT_INGEST_MODEL = defaultIngestModel();

export function personOfRow(r: CustomersTable): PersonInput {
  return {
    given_name: r.given_name,
    family_name: r.family_name,
    email: r.email,
    phone: r.phone,
    address_line1: r.address_line1,
    address_line2: r.address_line2,
    city: r.city,
    region: r.region,
    postal_code: r.postal_code,
    country: r.country,
  };
}

export function personOfContact(c: CanonicalContact, address?: PostalAddress | null): PersonInput {
  const a = address ?? c.address ?? null;
  return {
    given_name: c.given_name,
    family_name: c.family_name,
    email: c.email,
    phone: c.phone,
    address_line1: a?.line1,
    address_line2: a?.line2,
    city: a?.city,
    region: a?.region,
    postal_code: a?.postal_code,
    country: a?.country,
  };
}

export function addressKeyOf(a: PostalAddress | null | undefined): string | null {
  if (!a?.line1) return null;
  try {
    return normalizeAddress(a).key;
  } catch {
    return null;
  }
}

/**
 * Blocking keys of a person: canonical email, the last nine digits of the phone (the same with or
 * without a country code), the delivery-point key, family name + 5-digit postcode. Any shared key
 * makes a customer a candidate.
 */
export function identityKeys(p: PersonInput, addressKey: string | null): string[] {
  const keys: string[] = [];
  const email = canonicalEmail(p.email ?? '');
  if (email.includes('@')) keys.push(`email:${email}`);
  const digits = (p.phone ?? '').replace(/[^0-9]/g, '');
  if (digits.length >= 9) keys.push(`phone:${digits.slice(-9)}`);
  if (addressKey) keys.push(`addr:${addressKey}`);
  const family = simplify(p.family_name ?? '').replace(/ /g, '');
  const postcode = (p.postal_code ?? '')
    .replace(/[^0-9a-zA-Z]/g, '')
    .toLowerCase()
    .slice(0, 5);
  if (family && postcode) keys.push(`fpc:${family}|${postcode}`);
  return keys;
}

export const rowKeys = (r: CustomersTable): string[] => identityKeys(personOfRow(r), r.address_key);

const CHUNK = 200;

/**
 * Rewrites the blocking keys of these customers (none for merged ones). `fresh`: customers created
 * in the caller's transaction, which have no keys stored yet (their old keys are not deleted).
 */
export async function refreshIdentityKeys(
  db: Db,
  rows: CustomersTable[],
  fresh: ReadonlySet<string> = new Set(),
): Promise<void> {
  for (const part of chunks(rows, CHUNK)) {
    const stored = part.filter((r) => !fresh.has(r.id)).map((r) => r.id);
    if (stored.length > 0) await db.deleteFrom('identity_keys').where('customer_id', 'in', stored).execute();
    const values = part
      .filter((r) => !r.merged_into)
      .flatMap((r) => [...new Set(rowKeys(r))].map((key) => ({ key, customer_id: r.id })));
    for (const vs of chunks(values, CHUNK))
      await db
        .insertInto('identity_keys')
        .values(vs)
        .onConflict((oc) => oc.columns(['key', 'customer_id']).doNothing())
        .execute();
  }
}

export interface Candidate {
  customer_id: string;
  probability: number;
  explanation: Explanation;
  /** Why an auto-link is refused, if it is. */
  conflict: string | null;
}

/**
 * Strong identifiers that must not differ for an automatic link: emails and phones both present
 * and both different; a date of birth present on both sides and different (beyond a typo or a
 * day/month swap); given names plainly different (not a typo, nickname or initial); the
 * engine's chaining guard (two personal attributes in conflict); and no identifier (email,
 * phone, date of birth, national id) agreeing exactly.
 */
export function conflictOf(
  a: PreparedRecord,
  b: PreparedRecord,
  levels: Level[],
  ctx: ComparisonContext,
): string | null {
  const level = (name: string): Level => levels[FIELD_COMPARATORS.findIndex((c) => c.name === name)] ?? -1;
  const top = (name: string): number => (FIELD_COMPARATORS.find((c) => c.name === name)?.levels.length ?? 0) - 1;
  if (
    a.email !== '' &&
    b.email !== '' &&
    a.phone !== '' &&
    b.phone !== '' &&
    level('email') < top('email') &&
    level('phone') < top('phone')
  )
    return 'email_and_phone_differ';
  if (dobDiffers(level('date_of_birth'))) return 'date_of_birth_differs';
  if (level('given_name') === 0) return 'given_name_differs';
  if (strongConflict(a, b, ctx)) return 'personal_attributes_conflict';
  // Name and address alone never link automatically: relatives (a Jr. at his father's address)
  // share both. One identifier must agree exactly.
  const shared = ['email', 'phone', 'date_of_birth', 'national_id'].some((f) => level(f) >= 0 && level(f) === top(f));
  return shared ? null : 'no_shared_identifier';
}

/** Scores an incoming person against the in-batch customers sharing a blocking key, best first. */
export type IngestDecision =
  | { band: 'auto'; candidate: Candidate }
  | { band: 'review'; candidate: Candidate; reason: string | null }
  | { band: 'reject' };

/** Bands from config, with the guards: a conflict or a second sure candidate sends an auto-link to review. */
export function decide(candidates: Candidate[], settings: IdentitySettings): IngestDecision {
  const best = candidates[0];
  if (!best || best.probability < settings.review) return { band: 'reject' };
  if (best.probability < settings.auto_link) return { band: 'review', candidate: best, reason: null };
  if (best.conflict) return { band: 'review', candidate: best, reason: best.conflict };
  const rival = candidates[1];
  if (rival && rival.probability >= settings.auto_link)
    return { band: 'review', candidate: best, reason: 'several_candidates' };
  return { band: 'auto', candidate: best };
}

/**
 * Identity matching of a new source record, before the flow resolves its customer. An auto-link
 * attaches the record to the existing customer (crosswalk, so `resolveCustomer` finds it); a
 * review-band match lets the record get its own customer and queues a review item for the pair
 * (in the batch transaction, once the new customer exists); a reject does nothing.
 */
/** Writes the blocking keys of every live customer, a page at a time (after migration 0003 on an older database). */
export async function rebuildIdentityKeys(db: Db): Promise<void> {
  let after = '';
  for (;;) {
    const rows = await db
      .selectFrom('customers')
      .selectAll()
      .where('id', '>', after)
      .where('merged_into', 'is', null)
      .orderBy('id')
      .limit(1000)
      .execute();
    if (rows.length === 0) return;
    await refreshIdentityKeys(db, rows);
    after = rows.at(-1)!.id;
  }
}
