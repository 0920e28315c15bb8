import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { appendEntry, balanceOf, isHouseholdAccount, lockAccount } from './ledger-store.ts';
import type { LoyaltySettings } from './settings.ts';

type Db = Kysely<Database>;

export interface ExpiryReport {
  cutoff: string;
  accounts_checked: number;
  accounts_expired: number;
  points_expired: number;
}

/**
 * Expires earned points older than the configured age, oldest first: what an account earned
 * (or received by transfer) before the cutoff, net of that earning's reversals, less everything
 * the account has spent since it opened (redemptions, earlier expiries, transfers out, negative
 * adjustments), never below a zero balance. One `expire` entry per account; a second run finds
 * nothing left. Positive manual adjustments are never expired.
 */
export async function expirePoints(db: Db, now: number, s: LoyaltySettings): Promise<ExpiryReport> {
  if (s.expire_after_ms === null)
    throw new HearthError('invalid_config', 'loyalty.points_expire_days is not set: points never expire');
  const cutoff = now - s.expire_after_ms;
  const accounts = await db
    .selectFrom('ledger_entries')
    .select('account_id')
    .distinct()
    .where('kind', 'in', ['earn', 'transfer'])
    .where('points', '>', 0)
    .where('occurred_at', '<=', cutoff)
    .orderBy('account_id')
    .execute();
  const report: ExpiryReport = {
    cutoff: new Date(cutoff).toISOString(),
    accounts_checked: accounts.length,
    accounts_expired: 0,
    points_expired: 0,
  };
  for (const { account_id } of accounts) {
    const points = await db.transaction().execute((trx) => expireAccount(trx, account_id, cutoff, now));
    if (points > 0) {
      report.accounts_expired++;
      report.points_expired += points;
    }
  }
  return report;
}

async function expireAccount(trx: Db, accountId: string, cutoff: number, now: number): Promise<number> {
  await lockAccount(trx, accountId, now);
  const old = await trx
    .selectFrom('ledger_entries')
    .select((eb) => eb.fn.sum<number | string | null>('points').as('p'))
    .where('account_id', '=', accountId)
    .where((eb) =>
      eb.or([
        eb.and([eb('kind', 'in', ['earn', 'transfer']), eb('points', '>', 0), eb('occurred_at', '<=', cutoff)]),
        eb.and([
          eb('kind', '=', 'reverse'),
          eb(
            'ref_entry_id',
            'in',
            eb
              .selectFrom('ledger_entries as e')
              .select('e.id')
              .where('e.account_id', '=', accountId)
              .where('e.kind', '=', 'earn')
              .where('e.occurred_at', '<=', cutoff),
          ),
        ]),
      ]),
    )
    .executeTakeFirst();
  const spent = await trx
    .selectFrom('ledger_entries')
    .select((eb) => eb.fn.sum<number | string | null>('points').as('p'))
    .where('account_id', '=', accountId)
    .where('points', '<', 0)
    .where('kind', 'in', ['redeem', 'expire', 'transfer', 'adjust'])
    .executeTakeFirst();
  const due = Math.max(0, Number(old?.p ?? 0) + Number(spent?.p ?? 0));
  const amount = Math.min(due, Math.max(0, await balanceOf(trx, accountId)));
  if (amount === 0) return 0;
  await appendEntry(
    trx,
    {
      kind: 'expire',
      account_id: accountId,
      customer_id: isHouseholdAccount(accountId) ? null : accountId,
      household_id: isHouseholdAccount(accountId) ? accountId : null,
      points: -amount,
      source: 'expiry',
      actor: 'system:expiry',
      reason: `points earned before ${new Date(cutoff).toISOString().slice(0, 10)} expired`,
      occurred_at: now,
    },
    now,
  );
  return amount;
}
