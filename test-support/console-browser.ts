import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { HearthConfig } from '../src/config/loader.ts';
import type { HearthDb } from '../src/db/database.ts';
import { buildApp } from '../src/http/app.ts';
import { createLogger } from '../src/log.ts';
import { createMetrics } from '../src/metrics.ts';

/** Debian's Chromium: the console tests drive it and never download a browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Whether the browser is installed; prints the skip notice for `what` when it is not. */
export function browserAvailable(what: string): boolean {
  const have = existsSync(CHROMIUM);
  if (!have) console.log(`# notice: ${CHROMIUM} not found (apt-get install chromium); ${what} skipped`);
  return have;
}

/** The headless browser with the flags this machine needs, or undefined where it is missing. */
export async function launchBrowser(): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM)) return undefined;
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** The HTTP app (console included) on a free loopback port, with no connectors. */
export async function startConsoleApp(
  hdb: HearthDb,
  config: HearthConfig,
): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildApp({
    strictResponses: true,
    config,
    hdb,
    connectors: {},
    metrics: createMetrics(),
    logger: createLogger('silent'),
  });
  return { app, url: await app.listen({ host: '127.0.0.1', port: 0 }) };
}

/** Signs the page in with an API key on the console's start page and waits for the session. */
export async function signInWith(page: Page, key: string): Promise<void> {
  await page.fill('#api-key', key);
  await page.click('#sign-in');
  await page.locator('#sign-out:visible').waitFor();
}
