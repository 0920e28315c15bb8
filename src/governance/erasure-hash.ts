import { createHmac, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { normalizeEmail } from '../canonical/customer.ts';
import type { CanonicalEvent } from '../canonical/types.ts';
import { createDataCipher, parseKey, type SecurityConfig } from '../crypto/data-keys.ts';
import type { Database } from '../db/schema.ts';

type Db = Kysely<Database>;

/** A keyed hash of one identifier: `kind` (email, phone, source) keeps equal strings of different kinds apart. */
export type TombstoneHasher = (kind: IdentifierKind, normalised: string) => string;
export type IdentifierKind = 'email' | 'phone' | 'source';

export interface Identifier {
  kind: IdentifierKind;
  value: string;
}

const INSTALL_SECRET = 'erasure.tombstone_key';

/**
 * The tombstone hash key. With `security.lookup_key` configured the hashes are the data-key
 * module's lookup hashes (one keyed-hash scheme for the whole install); without it, a random
 * 32-byte secret generated on first use and stored in `install_secrets` (so every process of the
 * install hashes alike). That secret lives beside the hashes: it keeps them from being reversed
 * by anyone without database access (a dictionary of e-mails is useless without the key), not
 * from someone holding the database; configure `security.lookup_key` for a key kept elsewhere.
 * Returns null when no secret exists yet and `create` is false (then nothing was ever erased).
 */
export async function tombstoneHasher(
  db: Db,
  security: SecurityConfig,
  now: number,
  create: boolean,
): Promise<TombstoneHasher | null> {
  const cipher = createDataCipher(security);
  if (cipher) return (kind, v) => cipher.lookupHash(kind, v);
  if (security.lookup_key !== null) return hmacHasher(parseKey('lookup_key', security.lookup_key));
  const secret = await installSecret(db, now, create);
  return secret ? hmacHasher(Buffer.from(secret, 'base64url')) : null;
}

// The same construction as crypto/data-keys.ts lookupHash, so hashes agree once encryption is turned on.
function hmacHasher(key: Buffer): TombstoneHasher {
  return (kind, v) => createHmac('sha256', key).update(`${kind}\0${v}`).digest('base64url');
}

async function installSecret(db: Db, now: number, create: boolean): Promise<string | null> {
  const read = async () =>
    (await db.selectFrom('install_secrets').select('value').where('name', '=', INSTALL_SECRET).executeTakeFirst())
      ?.value ?? null;
  const found = await read();
  if (found || !create) return found;
  // Two processes erasing at once both insert; the first wins and both read it back.
  await db
    .insertInto('install_secrets')
    .values({ name: INSTALL_SECRET, value: randomBytes(32).toString('base64url'), created_at: now })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  return read();
}

/** Phone numbers compare on their last ten digits: `+1 (555) 000-0001` and `5550000001` are one person. */
export function phoneKey(raw: string | null | undefined): string | null {
  const digits = (raw ?? '').replace(/\D/g, '');
  return digits.length >= 7 ? digits.slice(-10) : null;
}

export function sourceKey(system: string, externalId: string): string {
  return `${system}:${externalId}`;
}

/** The identifiers an inbound event names: its source record, and the contact's e-mail and phone. */
export function eventIdentifiers(ev: CanonicalEvent): Identifier[] {
  if (ev.type === 'unsupported') return [];
  const out: Identifier[] = [];
  if (ev.external_id) out.push({ kind: 'source', value: sourceKey(ev.source, ev.external_id) });
  const email = normalizeEmail(ev.contact.email);
  if (email) out.push({ kind: 'email', value: email });
  const phone = phoneKey(ev.contact.phone);
  if (phone) out.push({ kind: 'phone', value: phone });
  return out;
}

/**
 * The hasher for the apply loop's tombstone check, cached once a key exists: until the first
 * erasure there is none, and the check is one cheap read per batch.
 */
export function tombstoneHasherSource(security: SecurityConfig): (db: Db) => Promise<TombstoneHasher | null> {
  let cached: TombstoneHasher | null = null;
  return async (db) => (cached ??= await tombstoneHasher(db, security, Date.now(), false));
}

/** Marks an inbox event indexed although it names nobody (`inbox_subjects`). */
export const NO_SUBJECT = '-';

/**
 * Who an inbox event is about, as `inbox_subjects` stores it: the keyed hashes of its source
 * record and e-mail (not its phone: families share one), and the customer it was applied to.
 */
export function eventSubjects(ev: CanonicalEvent, hash: TombstoneHasher, customerId?: string): string[] {
  const out = eventIdentifiers(ev)
    .filter((x) => x.kind !== 'phone')
    .map((x) => hash(x.kind, x.value));
  if (customerId) out.push(customerSubject(customerId));
  return out.length > 0 ? [...new Set(out)] : [NO_SUBJECT];
}

export const customerSubject = (customerId: string) => `cus:${customerId}`;
