import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axe from 'axe-core';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { parseConfig } from '../config/loader.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { createLogger } from '../log.ts';
import { createMetrics } from '../metrics.ts';
import { linkSource } from '../customers/customer-store.ts';
import { enqueueJobs, claimJobs, markDead } from '../engine/jobs.ts';
import { queueMatchReview } from '../identity/review-store.ts';
import { buildApp } from './app.ts';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN = 'hk_console_test_admin_key';
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser)
  console.log(`# notice: ${CHROMIUM} not found (apt-get install chromium); console browser test skipped`);

describeEachDialect('operator console in a real browser', (ctx) => {
  let app: FastifyInstance;
  let browser: Browser | undefined;
  let url = '';
  before(async () => {
    const config = parseConfig(
      { log: { level: 'silent' }, writeback: { sync_window_seconds: 60 } },
      { HEARTH_API_KEY: ADMIN },
    );
    app = await buildApp({
      strictResponses: true,
      config,
      hdb: ctx.hdb(),
      connectors: {},
      metrics: createMetrics(),
      logger: createLogger('silent'),
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    if (haveBrowser)
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      });
  });
  after(async () => {
    await browser?.close();
    await app.close();
  });

  test('shows queue depths and the write-backs past the sync window', { skip: !haveBrowser }, async () => {
    const { db, caps } = ctx.hdb();
    const t = Date.now() - 120_000;
    await enqueueJobs(
      db,
      [
        {
          target: 'hubspot',
          kind: 'crm.address_write',
          job_key: 'hubspot:cus_console',
          payload: {},
          origin_at: t,
          customer_id: 'cus_console',
        },
      ],
      3,
      t,
    );
    const [job] = await claimJobs(db, caps, { target: 'hubspot', limit: 1, worker_id: 'w', now: t, lease_ms: 1000 });
    await markDead(db, job!.id, 'HTTP 400 invalid zip', 'invalid', t + 1);
    const page = await browser!.newPage();
    await page.goto(url);
    assert.equal(await page.title(), 'Hearth console');
    const jobsTable = await page.locator('h2:has-text("Outbound jobs") + .scroll table').innerText();
    assert.match(jobsTable, /hubspot\s+dead\s+1/);
    const late = await page.locator('h2:has-text("sync window") + .scroll table').innerText();
    assert.match(late, new RegExp(job!.id));
    await page.close();
  });

  test('with an API key: lists dead letters with their error, re-drives one, looks a customer up', {
    skip: !haveBrowser,
  }, async () => {
    const { db, caps } = ctx.hdb();
    const t = Date.now();
    await db
      .insertInto('customers')
      .values({
        id: 'cus_console_ana',
        given_name: 'Ana',
        family_name: 'Diaz',
        email: 'ana@example.com',
        email_normalized: 'ana@example.com',
        address_line1: '2200 N Lincoln Ave',
        city: 'Chicago',
        region: 'IL',
        postal_code: '60614',
        field_sources: '{}',
        version: 1,
        created_at: t,
        updated_at: t,
      })
      .execute();
    await linkSource(db, 'hubspot', '5101', 'cus_console_ana', null, t);
    await enqueueJobs(
      db,
      [
        {
          target: 'hubspot',
          kind: 'crm.address_write',
          job_key: 'hubspot:cus_console_ana',
          payload: {},
          origin_at: t,
          customer_id: 'cus_console_ana',
        },
      ],
      3,
      t,
    );
    const [job] = await claimJobs(db, caps, { target: 'hubspot', limit: 1, worker_id: 'w', now: t, lease_ms: 1000 });
    await markDead(db, job!.id, 'HubSpot 400: <b>invalid</b> zip', 'invalid', t + 1);
    const page = await browser!.newPage();
    await page.goto(url);
    await page.fill('#api-key', 'hk_wrong');
    await page.click('#key-form button');
    await page.locator('#dead-status.err').waitFor();
    assert.match(await page.locator('#dead-status').innerText(), /API key/i);
    await page.fill('#api-key', ADMIN);
    await page.click('#key-form button');
    const deadRow = page.locator(`#dead-body tr:has-text("${job!.id}")`);
    await deadRow.waitFor();
    assert.match(
      await deadRow.innerText(),
      /HubSpot 400: <b>invalid<\/b> zip/,
      'the error is shown as text, not markup',
    );
    await deadRow.locator('button').click();
    await page.locator('#dead-status.ok:has-text("queued again")').waitFor();
    await page.locator(`#dead-body tr:has-text("${job!.id}")`).waitFor({ state: 'detached' });
    assert.equal(
      (await db.selectFrom('jobs').select('status').where('id', '=', job!.id).executeTakeFirstOrThrow()).status,
      'pending',
    );
    await page.fill('#customer-q', 'ANA@example.com');
    await page.click('#customer-form button');
    await page.locator('#customer-links').waitFor();
    assert.match(await page.locator('#customer').innerText(), /2200 N Lincoln Ave, Chicago, IL, 60614/);
    assert.match(await page.locator('#customer-links').innerText(), /hubspot\s+5101/);
    await page.fill('#customer-q', 'nobody@example.com');
    await page.click('#customer-form button');
    await page.locator('#customer-status.err:has-text("no customer")').waitFor();
    await page.close();
  });

  test('works the review queue (not a match) and shows the drift scorecard', { skip: !haveBrowser }, async () => {
    const { db } = ctx.hdb();
    const t = Date.now();
    const customer = (id: string, given: string, email: string) => ({
      id,
      given_name: given,
      family_name: 'Okoro',
      email,
      email_normalized: email,
      field_sources: '{}',
      version: 1,
      created_at: t,
      updated_at: t,
    });
    await db
      .insertInto('customers')
      .values([
        customer('cus_console_r1', 'Ada', 'ada@example.com'),
        customer('cus_console_r2', 'Adaeze', 'adaeze@example.net'),
      ])
      .execute();
    const explanation = {
      match_probability: 0.8,
      match_weight: 2,
      prior_weight: -10,
      fields: [
        { field: 'family_name', level: 'exact', weight: 6.5, tf_adjustment: 0 },
        { field: 'email', level: 'differ', weight: -4.2, tf_adjustment: 0 },
      ],
      guard: 'emails and phones both differ',
    };
    await queueMatchReview(
      db,
      {
        existing: 'cus_console_r1',
        incoming: 'cus_console_r2',
        score: 0.8,
        explanation,
        source_system: 'shopify',
        event_id: null,
      },
      t,
    );
    await db
      .insertInto('reconcile_runs')
      .values({
        id: 'run_console',
        status: 'done',
        trigger: 'api',
        actor: 'test',
        systems: '["hubspot"]',
        system: null,
        cursor: null,
        pages: 1,
        records: 4,
        matched: 4,
        unmatched: 0,
        findings: 1,
        jobs: 1,
        stats: '{}',
        error: null,
        started_at: t,
        updated_at: t,
        finished_at: t,
      })
      .execute();
    await db
      .insertInto('reconcile_scores')
      .values({
        run_id: 'run_console',
        system: 'hubspot',
        field: 'address',
        compared: 4,
        drifted: 1,
        format_only: 1,
        computed_at: t,
      })
      .execute();
    const page = await browser!.newPage();
    await page.goto(url);
    await page.fill('#api-key', ADMIN);
    await page.click('#key-form button');
    const item = page.locator('#review-body tr:has-text("cus_console_r2")');
    await item.waitFor();
    const text = await item.innerText();
    assert.match(text, /Ada Okoro <ada@example.com>/);
    assert.match(text, /held back: emails and phones both differ; family_name exact \(6\.5\), email differ \(-4\.2\)/);
    await page.locator('#drift-body tr:has-text("address")').waitFor();
    assert.match(await page.locator('#drift-body').innerText(), /hubspot\s+address\s+4\s+1\s+25\.0%\s+1/);
    await item.locator('button[data-decision="not_a_match"]').click();
    await page.locator('#review-status.ok:has-text("not_a_match")').waitFor();
    assert.equal(await page.locator('#review-body tr:has-text("cus_console_r2")').count(), 0);
    const decided = await db
      .selectFrom('review_items')
      .select(['status'])
      .where('customer_ids', 'like', '%cus_console_r2%')
      .executeTakeFirstOrThrow();
    assert.notEqual(decided.status, 'pending');
    await page.fill('#customer-q', 'ada@example.com');
    await page.click('#customer-form button');
    await page.locator('#customer-household').waitFor();
    assert.match(await page.locator('#customer-household').innerText(), /No household · tier member · own points 0/);
    await page.close();
  });

  test('search lists customers to open; readable at 1,280 px and on a phone; no serious axe violations', {
    skip: !haveBrowser,
  }, async () => {
    const shots = mkdtempSync(join(tmpdir(), 'hearth-console-shots-'));
    console.log(`# console screenshots: ${shots}`);
    // bypassCSP only so axe-core can be injected; the tests above run the console under its real CSP.
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    await page.goto(url);
    await page.fill('#api-key', ADMIN);
    await page.click('#key-form button');
    await page.fill('#customer-q', 'example');
    await page.click('#customer-form button');
    await page.locator('#customer-results tr:has-text("Adaeze")').waitFor();
    assert.ok((await page.locator('#customer-results tr').count()) >= 3, 'every matching customer listed');
    await page.locator('#customer-results button:has-text("Adaeze")').click();
    await page.locator('#ledger').waitFor();
    assert.match(await page.locator('#customer-status').innerText(), /Adaeze .* cus_console_r2/);
    assert.match(await page.locator('#customer').innerText(), /Ledger \(customer account, balance 0\)/);
    // Evaluated in the page (a string: the test is type-checked without the DOM library).
    const overflow = async () =>
      (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
    assert.ok((await overflow()) <= 0, `page wider than the 1,280 px viewport by ${await overflow()} px`);
    await page.screenshot({ path: join(shots, `customers-1280-${ctx.url().split(':')[0]}.png`), fullPage: true });
    await page.addScriptTag({ content: axe.source });
    const result = (await page.evaluate('axe.run()')) as axe.AxeResults;
    const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(
      serious.map((v) => `${v.id}: ${v.help}`),
      [],
    );
    await page.setViewportSize({ width: 390, height: 844 });
    assert.ok((await overflow()) <= 0, `wider than a phone by ${await overflow()} px`);
    await page.screenshot({ path: join(shots, `customers-phone-${ctx.url().split(':')[0]}.png`), fullPage: true });
    await page.close();
  });
});
