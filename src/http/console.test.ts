import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { parseConfig } from '../config.ts';
import { describeEachDialect } from '../db/test-dialects.ts';
import { createLogger } from '../log.ts';
import { createMetrics } from '../metrics.ts';
import { enqueueJobs, claimJobs, markDead } from '../sync/jobs.ts';
import { buildApp } from './app.ts';

const CHROMIUM = '/usr/bin/chromium';
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser) console.log(`# notice: ${CHROMIUM} not found (apt-get install chromium); console browser test skipped`);

describeEachDialect('operator console in a real browser', (ctx) => {
  let app: FastifyInstance;
  let browser: Browser | undefined;
  let url = '';
  before(async () => {
    const config = parseConfig({ log: { level: 'silent' }, writeback: { sync_window_seconds: 60 } });
    app = await buildApp({ config, hdb: ctx.hdb(), connectors: {}, metrics: createMetrics(), logger: createLogger('silent') });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    if (haveBrowser) browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });
  after(async () => {
    await browser?.close();
    await app.close();
  });

  test('shows queue depths and the write-backs past the sync window', { skip: !haveBrowser }, async () => {
    const { db, caps } = ctx.hdb();
    const t = Date.now() - 120_000;
    await enqueueJobs(db, [{ target: 'hubspot', kind: 'crm.address_write', job_key: 'hubspot:cus_console', payload: {}, origin_at: t, customer_id: 'cus_console' }], 3, t);
    const [job] = await claimJobs(db, caps, { target: 'hubspot', limit: 1, worker_id: 'w', now: t, lease_ms: 1000 });
    await markDead(db, job!.id, 'HTTP 400 invalid zip', 'invalid', t + 1);
    const page = await browser!.newPage();
    await page.goto(url);
    assert.equal(await page.title(), 'Hearth console');
    const jobsTable = await page.locator('h2:has-text("Outbound jobs") + table').innerText();
    assert.match(jobsTable, /hubspot\s+dead\s+1/);
    const late = await page.locator('h2:has-text("sync window") + table').innerText();
    assert.match(late, new RegExp(job!.id));
    await page.close();
  });
});
