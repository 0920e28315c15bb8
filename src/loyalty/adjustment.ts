import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { membershipAt } from '../households/membership-store.ts';
import {
  adjustmentRate,
  appendEntry,
  balanceOf,
  isHouseholdAccount,
  lockAccount,
  type AdjustmentRate,
  type LedgerEntry,
  entryByKey,
} from './ledger-store.ts';
import type { LoyaltySettings } from './settings.ts';

type Db = Kysely<Database>;

export interface AdjustmentRequest {
  /** The account to adjust: a customer (`cus_`) or a household pool (`hh_`). */
  account_id: string;
  /** The individual it concerns, if any (attribution). */
  customer_id?: string | undefined;
  points: number;
  reason: string;
  actor: string;
  /** The client's key: a retried request returns the first entry instead of adjusting twice. */
  idempotency_key?: string | undefined;
}

export interface AdjustmentResult {
  entry: LedgerEntry;
  balance: number;
  replayed: boolean;
  manual_adjustment_rate: AdjustmentRate;
}

/**
 * An operator's manual adjustment: an `adjust` entry with actor and reason. Nothing else in
 * Hearth (sync, backfill, reversals) ever writes against it. A debit may not overdraw.
 */
export async function adjust(db: Db, r: AdjustmentRequest, now: number, s: LoyaltySettings): Promise<AdjustmentResult> {
  if (!Number.isInteger(r.points) || r.points === 0)
    throw new HearthError('bad_request', 'points must be a non-zero integer', { field: 'points' });
  if (!r.reason.trim()) throw new HearthError('bad_request', 'reason is required', { field: 'reason' });
  const result = await db.transaction().execute(async (trx) => {
    await requireAccountOwner(trx, r.account_id);
    if (r.customer_id) await requireCustomer(trx, r.customer_id);
    const m = r.customer_id ? await membershipAt(trx, r.customer_id) : undefined;
    await lockAccount(trx, r.account_id, now);
    const key = r.idempotency_key ? `adjust:${r.account_id}:${r.idempotency_key}` : null;
    const earlier = key ? await entryByKey(trx, key) : undefined;
    if (earlier) {
      if (earlier.points !== r.points)
        throw new HearthError(
          'conflict',
          `idempotency key ${r.idempotency_key} was used for another adjustment (${earlier.points} points)`,
          { reason: 'idempotency_key_reused' },
        );
      return { entry: earlier, balance: await balanceOf(trx, r.account_id), replayed: true };
    }
    const balance = await balanceOf(trx, r.account_id);
    if (balance + r.points < 0)
      throw new HearthError('conflict', `adjustment would overdraw account ${r.account_id} (balance ${balance})`, {
        reason: 'insufficient_points',
        balance,
      });
    const entry = await appendEntry(
      trx,
      {
        kind: 'adjust',
        account_id: r.account_id,
        customer_id: r.customer_id ?? (isHouseholdAccount(r.account_id) ? null : r.account_id),
        household_id: m?.household_id ?? (isHouseholdAccount(r.account_id) ? r.account_id : null),
        points: r.points,
        source: 'api',
        actor: r.actor,
        reason: r.reason.trim(),
        idempotency_key: key,
        occurred_at: now,
      },
      now,
    );
    return { entry: entry!, balance: balance + r.points, replayed: false };
  });
  return { ...result, manual_adjustment_rate: await adjustmentRate(db, s.adjustment_alert_rate) };
}

async function requireAccountOwner(db: Db, accountId: string): Promise<void> {
  if (isHouseholdAccount(accountId)) {
    if (!(await db.selectFrom('households').select('id').where('id', '=', accountId).executeTakeFirst()))
      throw new HearthError('not_found', `household ${accountId} not found`);
    return;
  }
  await requireCustomer(db, accountId);
}

async function requireCustomer(db: Db, customerId: string): Promise<void> {
  if (!(await db.selectFrom('customers').select('id').where('id', '=', customerId).executeTakeFirst()))
    throw new HearthError('not_found', `customer ${customerId} not found`);
}
