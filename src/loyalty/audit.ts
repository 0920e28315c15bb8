import { parse } from 'csv-parse/sync';
import type { Kysely } from 'kysely';
import { normalizeEmail } from '../canonical/customer.ts';
import type { Database } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { membershipAt } from '../households/membership-store.ts';
import { isHouseholdAccount } from './ledger-store.ts';
import { parseExportDate } from './orders-csv.ts';

type Db = Kysely<Database>;

/** One redemption to judge: who redeemed, against which account, when. */
export interface RedemptionRecord {
  redeemer_id: string | null;
  account_id: string | null;
  points: number;
  at: number;
  /** Where it came from (ledger entry id, or file line). */
  ref: string;
}

export interface AuditFinding {
  ref: string;
  redeemer_id: string;
  account_id: string;
  points: number;
  at: string;
  redeemer_household_id: string | null;
}

export interface RedemptionAudit {
  source: 'ledger' | 'file';
  redemptions: number;
  /** Judged (redeemer and account known). */
  judged: number;
  outside_household: number;
  /** outside_household / judged: the "23%" figure. */
  share: number;
  points: number;
  points_outside: number;
  /** Rows whose redeemer or account Hearth does not know. */
  unknown: number;
  /**
   * Judged by the CRM's household because the redemption predates the household history Hearth
   * holds for the redeemer or the account holder (a legacy log older than the first pull).
   */
  judged_by_crm_household: number;
  /** Not judged: no household was ever pulled from the CRM, so inside or outside cannot be told. */
  household_unknown: number;
  findings: AuditFinding[];
}

/**
 * Redemptions made against an account outside the redeemer's household at that time: a pool
 * of another household, or the individual account of someone who was not in the redeemer's
 * household (their own account is always inside).
 */
export async function auditRedemptions(
  db: Db,
  records: RedemptionRecord[],
  source: RedemptionAudit['source'],
  maxFindings = 50,
): Promise<RedemptionAudit> {
  const out: RedemptionAudit = {
    source,
    redemptions: records.length,
    judged: 0,
    outside_household: 0,
    share: 0,
    points: 0,
    points_outside: 0,
    unknown: 0,
    judged_by_crm_household: 0,
    household_unknown: 0,
    findings: [],
  };
  const anyHousehold = await db.selectFrom('household_members').select('id').limit(1).executeTakeFirst();
  for (const r of records) {
    out.points += r.points;
    if (!r.redeemer_id || !r.account_id) {
      out.unknown++;
      continue;
    }
    if (!anyHousehold && r.account_id !== r.redeemer_id) {
      out.household_unknown++;
      continue;
    }
    out.judged++;
    const redeemer = await householdAt(db, r.redeemer_id, r.at);
    const home = redeemer.household_id;
    const verdict = await insideHousehold(db, r.redeemer_id, home, r.account_id, r.at);
    if (redeemer.from_crm || verdict.from_crm) out.judged_by_crm_household++;
    if (verdict.inside) continue;
    out.outside_household++;
    out.points_outside += r.points;
    if (out.findings.length < maxFindings)
      out.findings.push({
        ref: r.ref,
        redeemer_id: r.redeemer_id,
        account_id: r.account_id,
        points: r.points,
        at: new Date(r.at).toISOString(),
        redeemer_household_id: home,
      });
  }
  out.share = out.judged === 0 ? 0 : Math.round((out.outside_household / out.judged) * 10_000) / 10_000;
  return out;
}

async function insideHousehold(
  db: Db,
  redeemer: string,
  home: string | null,
  account: string,
  at: number,
): Promise<{ inside: boolean; from_crm: boolean }> {
  if (account === redeemer) return { inside: true, from_crm: false };
  if (isHouseholdAccount(account)) return { inside: account === home, from_crm: false };
  if (!home) return { inside: false, from_crm: false };
  const holder = await householdAt(db, account, at);
  return { inside: holder.household_id === home, from_crm: holder.from_crm };
}

/**
 * The household a customer was in at `at`. Before their first known period (a log older than
 * Hearth's first household pull) the history is unknown, so the CRM's household as first pulled
 * stands for it (`from_crm`), never "in none". Null: the CRM has them in no household.
 */
async function householdAt(
  db: Db,
  customerId: string,
  at: number,
): Promise<{ household_id: string | null; from_crm: boolean }> {
  const then = await membershipAt(db, customerId, at);
  if (then) return { household_id: then.household_id, from_crm: false };
  const first = await db
    .selectFrom('household_members')
    .select(['household_id', 'valid_from'])
    .where('customer_id', '=', customerId)
    .orderBy('valid_from')
    .executeTakeFirst();
  return first && first.valid_from > at
    ? { household_id: first.household_id, from_crm: true }
    : { household_id: null, from_crm: false };
}

/** Hearth's own redemptions. */
export async function ledgerRedemptions(db: Db): Promise<RedemptionRecord[]> {
  const rows = await db
    .selectFrom('ledger_entries')
    .select(['id', 'customer_id', 'account_id', 'points', 'occurred_at'])
    .where('kind', '=', 'redeem')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    redeemer_id: r.customer_id,
    account_id: r.account_id,
    points: -Number(r.points),
    at: Number(r.occurred_at),
    ref: r.id,
  }));
}

/**
 * An imported redemption log (CSV): `redeemed_at`, the redeemer as `redeemer_email` or
 * `redeemer_id`, the account debited as `account_email` or `account_id` (a customer or `hh_`
 * id), `points`. Emails resolve to Hearth customers; what does not resolve counts as unknown.
 */
export async function redemptionLog(db: Db, text: string, file = 'redemptions.csv'): Promise<RedemptionRecord[]> {
  const rows = parse(text, {
    bom: true,
    columns: (h: string[]) => h.map((c) => c.trim().toLowerCase().replace(/\s+/g, '_')),
    skip_empty_lines: true,
    relax_column_count: true,
  }) as Record<string, string>[];
  const out: RedemptionRecord[] = [];
  for (const [i, r] of rows.entries()) {
    const line = i + 2;
    const at = parseExportDate(r.redeemed_at ?? '');
    if (Number.isNaN(at))
      throw new HearthError(
        'invalid_input',
        `${file} line ${line}: redeemed_at "${r.redeemed_at ?? ''}" is not a date`,
      );
    const points = Number(r.points);
    if (!Number.isFinite(points))
      throw new HearthError('invalid_input', `${file} line ${line}: points "${r.points ?? ''}" is not a number`);
    if (!r.redeemer_id && !r.redeemer_email)
      throw new HearthError('invalid_input', `${file} line ${line}: redeemer_email or redeemer_id is required`);
    if (!r.account_id && !r.account_email)
      throw new HearthError('invalid_input', `${file} line ${line}: account_email or account_id is required`);
    out.push({
      redeemer_id: await resolve(db, r.redeemer_id, r.redeemer_email),
      account_id: await resolve(db, r.account_id, r.account_email),
      points,
      at,
      ref: `${file}:${line}`,
    });
  }
  return out;
}

async function resolve(db: Db, id: string | undefined, email: string | undefined): Promise<string | null> {
  if (id) return id.trim();
  const normalized = normalizeEmail(email);
  if (!normalized) return null;
  const row = await db
    .selectFrom('customers')
    .select(['id', 'merged_into'])
    .where('email_normalized', '=', normalized)
    .orderBy('id')
    .executeTakeFirst();
  return row ? (row.merged_into ?? row.id) : null;
}
