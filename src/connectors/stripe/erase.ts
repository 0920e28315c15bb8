import type Stripe from 'stripe';
import type { DeliveryResult } from '../../canonical/types.ts';
import type { ConnectorDeps } from '../connector.ts';
import { kindOfStatus, retryAfter } from '../common/http.ts';
import { eraseEach, type Eraser } from '../erasure.ts';
import { stripeClient, type StripeConfig } from './index.ts';

/**
 * Deletes the Stripe customer (`DELETE /v1/customers/:id`): Stripe cancels its subscriptions and
 * removes its payment methods; invoices and charges stay for the account's bookkeeping. With no
 * crosswalk id, the customers with the e-mail.
 */
export function stripeEraser(cfg: StripeConfig, deps: ConnectorDeps): Eraser {
  const now = deps.now ?? Date.now;
  let client: Promise<Stripe> | undefined;
  const stripe = () => (client ??= stripeClient(cfg));
  return eraseEach(
    async (id) => {
      try {
        await (await stripe()).customers.del(id);
        return { ok: true };
      } catch (err) {
        return failure(err, now);
      }
    },
    async (email) => {
      try {
        const page = await (await stripe()).customers.list({ email, limit: 100 });
        return { ok: true, ids: page.data.map((c) => c.id) };
      } catch (err) {
        return failure(err, now);
      }
    },
  );
}

function failure(err: unknown, now: () => number): Extract<DeliveryResult, { ok: false }> {
  const e = err as { statusCode?: number; message?: string; headers?: Record<string, string> };
  const status = e.statusCode ?? 0;
  return {
    ok: false,
    kind: status ? kindOfStatus(status) : 'transient',
    message: `stripe ${status || 'network'}: ${e.message ?? 'error'}`,
    ...retryAfter(e.headers?.['retry-after'] ?? null, now),
  };
}
