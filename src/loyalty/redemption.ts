import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { membershipAt, type Membership } from '../households/membership-store.ts';
import {
  appendEntry,
  balanceOf,
  entryByKey,
  isHouseholdAccount,
  lockAccount,
  type LedgerEntry,
} from './ledger-store.ts';
import type { LoyaltySettings } from './settings.ts';

type Db = Kysely<Database>;

export interface RedemptionRequest {
  customer_id: string;
  points: number;
  /** Defaults to the redeemer's own account: the pool when they pool, else their individual one. */
  account_id?: string | undefined;
  idempotency_key?: string | undefined;
  reason?: string | undefined;
  actor: string;
}

export interface RedemptionResult {
  entry: LedgerEntry;
  balance: number;
  /** True when the idempotency key had already redeemed (the earlier entry is returned). */
  replayed: boolean;
}

/**
 * Redeems points in one transaction: who may (household-level authorisation), then the account
 * is locked, the balance read and the debit written — so parallel redemptions never overdraw.
 * A refusal (404, 403, 409) writes nothing.
 */
export async function redeem(db: Db, r: RedemptionRequest, now: number, s: LoyaltySettings): Promise<RedemptionResult> {
  if (!Number.isInteger(r.points) || r.points <= 0)
    throw new HearthError('bad_request', 'points must be a positive integer', { field: 'points' });
  return db.transaction().execute(async (trx) => {
    await requireCustomer(trx, r.customer_id);
    const guess = await membershipAt(trx, r.customer_id);
    const account = r.account_id ?? (guess?.points_aggregation_opt_in ? guess.household_id : r.customer_id);
    await authorise(trx, r.customer_id, guess, account, s);
    await lockAccount(trx, account, now);
    // Read again under the lock: an opt-out or split that committed meanwhile is seen.
    const m = await membershipAt(trx, r.customer_id);
    await authorise(trx, r.customer_id, m, account, s);
    // Keys are the client's, per customer: another customer's key never replays someone else's entry.
    const key = r.idempotency_key ? `redeem:${r.customer_id}:${r.idempotency_key}` : null;
    const earlier = key ? await entryByKey(trx, key) : undefined;
    if (earlier) {
      if (earlier.account_id !== account || earlier.points !== -r.points)
        throw new HearthError(
          'conflict',
          `idempotency key ${r.idempotency_key} was used for another redemption ` +
            `(${-earlier.points} points from ${earlier.account_id})`,
          { reason: 'idempotency_key_reused' },
        );
      return { entry: earlier, balance: await balanceOf(trx, account), replayed: true };
    }
    const balance = await balanceOf(trx, account);
    if (balance < r.points)
      throw new HearthError(
        'conflict',
        `insufficient points: account ${account} holds ${balance}, ${r.points} requested`,
        { reason: 'insufficient_points', balance, requested: r.points },
      );
    const entry = await appendEntry(
      trx,
      {
        kind: 'redeem',
        account_id: account,
        customer_id: r.customer_id,
        household_id: m?.household_id ?? null,
        points: -r.points,
        source: 'api',
        actor: r.actor,
        reason: r.reason ?? 'redemption',
        idempotency_key: key,
        occurred_at: now,
      },
      now,
    );
    return { entry: entry!, balance: balance - r.points, replayed: false };
  });
}

async function requireCustomer(db: Db, customerId: string): Promise<void> {
  const row = await db.selectFrom('customers').select('id').where('id', '=', customerId).executeTakeFirst();
  if (!row) throw new HearthError('not_found', `customer ${customerId} not found`);
}

/**
 * A pool: an opted-in member of that household now (the head only, if so configured). An
 * individual account: its owner.
 */
async function authorise(
  db: Db,
  customerId: string,
  m: Membership | undefined,
  account: string,
  s: LoyaltySettings,
): Promise<void> {
  if (!isHouseholdAccount(account)) {
    if (account !== customerId)
      throw new HearthError('forbidden', `customer ${customerId} may not redeem from another customer's account`, {
        reason: 'not_account_owner',
      });
    return;
  }
  const household = await db.selectFrom('households').select('id').where('id', '=', account).executeTakeFirst();
  if (!household) throw new HearthError('not_found', `household ${account} not found`);
  if (!m || m.household_id !== account)
    throw new HearthError('forbidden', `customer ${customerId} is not a member of household ${account}`, {
      reason: 'not_a_member',
    });
  if (!m.points_aggregation_opt_in)
    throw new HearthError('forbidden', `customer ${customerId} has not opted in to household points`, {
      reason: 'not_opted_in',
    });
  if (s.redemption_authority === 'head_only' && m.role !== 'head')
    throw new HearthError('forbidden', `only the head of household ${account} may redeem from its pool`, {
      reason: 'head_only',
    });
}
