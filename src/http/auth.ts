import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ApiRole, Database } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { newId } from '../ids.ts';
import { safeEqual } from '../connectors/hmac.ts';

export const ROLES: readonly ApiRole[] = ['admin', 'operator', 'readonly'];
const RANK: Record<ApiRole, number> = { readonly: 0, operator: 1, admin: 2 };

export interface Principal {
  key_id: string;
  role: ApiRole;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Creates an API key; the plain key is returned once and only its hash is stored. */
export async function createApiKey(
  db: Kysely<Database>,
  name: string,
  role: ApiRole,
  now: number,
): Promise<{ id: string; key: string; role: ApiRole; name: string }> {
  const key = `hk_${randomBytes(24).toString('base64url')}`;
  const id = newId('key', now);
  await db
    .insertInto('api_keys')
    .values({ id, name, role, key_hash: hashKey(key), created_at: now, revoked_at: null, last_used_at: null })
    .execute();
  return { id, key, role, name };
}

/** Resolves `Authorization: Bearer <key>` to a principal: the bootstrap admin key or a stored key. */
export async function authenticate(
  db: Kysely<Database>,
  header: string | undefined,
  bootstrapKey: string | undefined,
): Promise<Principal> {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!match) throw new HearthError('unauthorized', 'missing Authorization: Bearer <api key>');
  const key = match[1]!;
  const hash = hashKey(key);
  if (bootstrapKey && safeEqual(hash, hashKey(bootstrapKey))) return { key_id: 'bootstrap', role: 'admin' };
  const row = await db
    .selectFrom('api_keys')
    .select(['id', 'role', 'revoked_at'])
    .where('key_hash', '=', hash)
    .executeTakeFirst();
  if (!row || row.revoked_at !== null) throw new HearthError('unauthorized', 'unknown or revoked API key');
  return { key_id: row.id, role: row.role };
}

export function requireRole(p: Principal, needed: ApiRole): void {
  if (RANK[p.role] < RANK[needed])
    throw new HearthError('forbidden', `this action needs the ${needed} role; the key has ${p.role}`);
}
