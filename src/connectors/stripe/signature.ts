import { createHmac, timingSafeEqual } from 'node:crypto';
import type { VerifyResult } from '../../canonical/types.ts';

/** Stripe's default tolerance between the signed timestamp and now (seconds). */
export const DEFAULT_TOLERANCE_S = 300;

/**
 * Verifies a `Stripe-Signature` header (`t=…,v1=…[,v1=…]`): the hex HMAC-SHA256 of `${t}.${body}`
 * with the endpoint secret. Several `v1` appear while Stripe rolls the endpoint secret, and
 * Hearth may hold several secrets while it rolls its own: any pair matching passes. `v0` is ignored.
 */
export function verifyStripeSignature(
  raw: Buffer,
  header: string | undefined,
  secrets: readonly string[],
  nowMs: number,
  toleranceS = DEFAULT_TOLERANCE_S,
): VerifyResult {
  const parts = (header ?? '').split(',').map((p) => p.trim().split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  const v1 = parts.filter(([k, v]) => k === 'v1' && v).map(([, v]) => Buffer.from(v!, 'utf8'));
  if (!Number.isFinite(t)) return { ok: false, error: 'stripe-signature: no timestamp' };
  if (v1.length === 0) return { ok: false, error: 'stripe-signature: no v1 signature' };
  if (Math.abs(nowMs / 1000 - t) > toleranceS)
    return { ok: false, error: 'stripe-signature: timestamp outside tolerance' };
  const signed = Buffer.concat([Buffer.from(`${t}.`, 'utf8'), raw]);
  for (const secret of secrets) {
    const want = Buffer.from(createHmac('sha256', secret).update(signed).digest('hex'), 'utf8');
    if (v1.some((got) => got.length === want.length && timingSafeEqual(got, want))) return { ok: true };
  }
  return { ok: false, error: 'stripe-signature: no matching v1 signature' };
}
