import { parseConfig, type HearthConfig } from '../src/config/loader.ts';
import type { DialectContext } from './dialects.ts';
import { createLogger } from '../src/log.ts';
import { startHearth, type Hearth } from '../src/runtime.ts';

export const SHOPIFY_SECRET = 'shpss_test_secret';
export const ADMIN_KEY = 'hk_test_admin_key';

/** A Hearth wired to the suite's database, listening on a free loopback port. */
export async function startTestHearth(
  ctx: DialectContext,
  raw: Record<string, unknown>,
): Promise<{ hearth: Hearth; config: HearthConfig }> {
  const config = parseConfig(
    {
      database: ctx.url(),
      server: { host: '127.0.0.1', port: (raw.port as number | undefined) ?? 0, body_limit_bytes: 64 * 1024 },
      jobs: {
        max_attempts: 4,
        base_delay_ms: 20,
        max_delay_ms: 200,
        lease_seconds: 30,
        poll_interval_ms: 20,
        batch_size: 50,
      },
      log: { level: 'silent' },
      ...Object.fromEntries(Object.entries(raw).filter(([k]) => k !== 'port')),
      connectors: { shopify: { webhook_secret: SHOPIFY_SECRET }, ...((raw.connectors as object) ?? {}) },
    },
    { HEARTH_API_KEY: ADMIN_KEY },
  );
  const hearth = await startHearth(config, {
    logger: createLogger('silent'),
    hdb: ctx.hdb(),
    migrate: false,
    strictResponses: true,
  });
  return { hearth, config };
}

export { freePort } from '../src/cli/free-port.ts';

/** Polls until `check` returns a truthy value (async work settles), or fails after `ms`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  ms = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
