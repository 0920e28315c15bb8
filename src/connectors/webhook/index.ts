import { hmacSha256 } from '../hmac.ts';
import type { Connector, DeliveryResult, OutboundJob } from '../../canonical/types.ts';
import { scrubSecrets } from '../../log.ts';
import { kindOfStatus, retryAfter, type FetchLike } from '../common/http.ts';
import { keepAliveFetch } from './transport.ts';
import type { WebhookEvent } from './versions.ts';

export type { FetchLike };

export interface WebhookTarget {
  name: string;
  url: string;
  secret: string;
}

export interface WebhookJobPayload {
  target: string;
  /** Already in the subscriber's pinned shape (see `shapeEvent`): sent as it is. */
  event: WebhookEvent;
}

export interface WebhookDeps {
  fetch?: FetchLike;
  now?: () => number;
  timeout_ms?: number;
}

/**
 * Generic signed JSON webhooks for downstream readers (loyalty, support, email marketing).
 * Signature like Stripe's: `X-Hearth-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`;
 * `Idempotency-Key` is the event id, so a receiver can drop a redelivery.
 */
export function createWebhookConnector(targets: WebhookTarget[], deps: WebhookDeps = {}): Connector {
  const byName = new Map(targets.map((t) => [t.name, t]));
  // Kept-alive connections to the subscribers unless a fetch is handed in (tests, simulators).
  const send = deps.fetch ?? keepAliveFetch();
  const now = deps.now ?? Date.now;
  const timeout = deps.timeout_ms ?? 10_000;
  return {
    id: 'webhook',
    maxBatch: 20,
    outbound: {
      kinds: ['webhook.deliver'],
      deliver: (jobs) =>
        Promise.all(jobs.map((j) => deliverOne(byName, send, now, timeout, j as OutboundJob<WebhookJobPayload>))),
    },
  };
}

export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${hmacSha256(secret, `${unixSeconds}.${body}`, 'hex')}`;
}

async function deliverOne(
  byName: Map<string, WebhookTarget>,
  send: FetchLike,
  now: () => number,
  timeout: number,
  job: OutboundJob<WebhookJobPayload>,
): Promise<DeliveryResult> {
  const target = byName.get(job.payload.target);
  if (!target)
    return { ok: false, kind: 'invalid', message: `webhook target "${job.payload.target}" is not configured` };
  const body = JSON.stringify(job.payload.event);
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'Hearth-Webhooks/1',
    'x-hearth-event-id': job.payload.event.id,
    'x-hearth-event-type': job.payload.event.type,
    'x-hearth-schema-version': String(job.payload.event.schema_version ?? 1),
    'x-hearth-signature': signWebhook(target.secret, body, Math.floor(now() / 1000)),
    'idempotency-key': job.payload.event.id,
  };
  try {
    const res = await send(target.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeout) });
    if (res.status >= 200 && res.status < 300) return { ok: true };
    const text = scrubSecrets((await res.text().catch(() => '')).slice(0, 500));
    return {
      ok: false,
      kind: kindOfStatus(res.status),
      message: `HTTP ${res.status} from ${target.name}: ${text}`,
      ...retryAfter(res.headers.get('retry-after'), now),
    };
  } catch (err) {
    return { ok: false, kind: 'transient', message: scrubSecrets(`${target.name}: ${(err as Error).message}`) };
  }
}
