import type { TierRule } from './settings.ts';

/** The highest tier whose minimum the spend reaches (tiers are highest first), or null. */
export function tierFor(spendMinor: number, tiers: readonly TierRule[]): string | null {
  return tiers.find((t) => spendMinor >= t.min_spend_minor)?.name ?? null;
}

/** Points for an amount in minor units: whole points, rounded down. */
export function pointsFor(amountMinor: number, pointsPerUnit: number): number {
  return Math.floor((amountMinor * pointsPerUnit) / 100 + 1e-9);
}

/** A money string or number ("59.00", 59) in minor units; null when it is not a finite amount. */
export function toMinor(amount: string | number | null | undefined): number | null {
  if (amount === null || amount === undefined || amount === '') return null;
  const n = typeof amount === 'number' ? amount : Number(String(amount).replace(/[,\s]/g, ''));
  return Number.isFinite(n) ? Math.round(n * 100) : null;
}

/** Points a refund of `refundMinor` takes back from an order that earned `earned` on `totalMinor`. */
export function reversalPoints(earned: number, totalMinor: number, refundMinor: number | null): number {
  if (refundMinor === null || totalMinor <= 0) return earned;
  return Math.min(earned, Math.floor((earned * refundMinor) / totalMinor + 1e-9));
}

/** A member's share of a pool on leaving: what they contributed, never more than the pool holds, never negative. */
export function splitShare(attributed: number, pool: number): number {
  return Math.max(0, Math.min(attributed, pool));
}
