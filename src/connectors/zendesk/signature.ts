import { createHmac, timingSafeEqual } from 'node:crypto';
import type { VerifyResult } from '../../canonical/types.ts';

/**
 * Verifies `X-Zendesk-Webhook-Signature`: base64 HMAC-SHA256 of timestamp + body with the
 * webhook's signing secret; the timestamp header must be within the tolerance (replays refused).
 */
export function verifyZendeskSignature(
  raw: Buffer,
  signature: string | undefined,
  timestamp: string | undefined,
  secret: string,
  nowMs: number,
  toleranceS: number,
): VerifyResult {
  if (!signature || !timestamp) return { ok: false, error: 'x-zendesk-webhook-signature and -timestamp are required' };
  const at = Date.parse(timestamp);
  if (Number.isNaN(at)) return { ok: false, error: 'x-zendesk-webhook-signature-timestamp is not a time' };
  if (Math.abs(nowMs - at) > toleranceS * 1000)
    return { ok: false, error: 'zendesk signature timestamp outside tolerance' };
  const want = Buffer.from(createHmac('sha256', secret).update(timestamp).update(raw).digest('base64'));
  const got = Buffer.from(signature);
  return got.length === want.length && timingSafeEqual(got, want)
    ? { ok: true }
    : { ok: false, error: 'bad x-zendesk-webhook-signature' };
}

/** The signature a Zendesk webhook carries (simulators and tests sign with it). */
export function zendeskSignature(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(timestamp).update(body).digest('base64');
}
