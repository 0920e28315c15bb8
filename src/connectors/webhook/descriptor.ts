import { z } from 'zod';
import { subscriberTarget } from '../../canonical/fields.ts';
import { defineConnector } from '../connector.ts';
import { createWebhookConnector } from './index.ts';
import { LATEST_SCHEMA_VERSION } from './versions.ts';

const target = z.object({
  name: z.string().regex(/^[a-z0-9_-]+$/, 'lowercase letters, digits, - and _'),
  url: z.url(),
  secret: z.string().min(8, 'at least 8 characters'),
  events: z.array(z.string()).default(['address.corrected']),
  /**
   * Event shapes this subscriber receives: each event in the newest version of its type up to this
   * one (docs/events-changelog.md). Absent: always the latest, so pin it before a new version ships.
   */
  schema_version: z
    .number()
    .int()
    .min(1)
    .max(LATEST_SCHEMA_VERSION, `event schema versions go up to ${LATEST_SCHEMA_VERSION}`)
    .optional(),
});

/** Signed JSON webhooks to downstream readers (loyalty, support, email): one ordered queue per subscriber. */
export const webhookConnector = defineConnector({
  name: 'webhook',
  config: z.object({
    targets: z
      .array(target)
      .default([])
      .describe(
        'Subscribers: name, url, secret, events, schema_version (pinned event shapes; absent: the latest; ' +
          'docs/events-changelog.md).',
      ),
    /** Milliseconds a vendor call may wait for an answer before it fails as transient (default 10 000). */
    timeout_ms: z.number().int().min(1).optional(),
  }),
  capabilities: {},
  targets: (cfg) => cfg.targets.map((t) => subscriberTarget(t.name)),
  create: (cfg, deps) =>
    createWebhookConnector(cfg.targets, {
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      ...(deps.now ? { now: deps.now } : {}),
      ...(cfg.timeout_ms ? { timeout_ms: cfg.timeout_ms } : {}),
    }),
});
