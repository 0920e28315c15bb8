import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import axe from 'axe-core';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { parseConfig } from '../config/loader.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { browserAvailable, launchBrowser, signInWith, startConsoleApp } from '../../test-support/console-browser.ts';
import { linkSource } from '../customers/customer-store.ts';
import { claimJobs, markDead } from '../engine/jobs.ts';

const ADMIN = 'hk_console_erasure_admin_key';
const haveBrowser = browserAvailable('console erasure browser test');

describeEachDialect('console: erasures page in a real browser', (ctx) => {
  let app: FastifyInstance;
  let browser: Browser | undefined;
  let url = '';
  let erasure = '';
  const db = () => ctx.hdb().db;

  before(async () => {
    const config = parseConfig(
      {
        log: { level: 'silent' },
        connectors: { hubspot: { access_token: 'pat-test', base_url: 'http://127.0.0.1:9' } },
      },
      { HEARTH_API_KEY: ADMIN },
    );
    ({ app, url } = await startConsoleApp(ctx.hdb(), config));
    const t = Date.now();
    await db()
      .insertInto('customers')
      .values({
        id: 'cus_e_ana',
        given_name: 'Ana',
        family_name: 'Quillfeather',
        email: 'ana.erased@example.com',
        email_normalized: 'ana.erased@example.com',
        field_sources: '{}',
        version: 1,
        created_at: t - 60_000,
        updated_at: t - 60_000,
      })
      .execute();
    await linkSource(db(), 'hubspot', '9101', 'cus_e_ana', null, t - 60_000);
    const res = await app.inject({
      method: 'DELETE',
      url: '/v1/customers/cus_e_ana',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    assert.equal(res.statusCode, 200, res.body);
    erasure = (res.json() as { id: string }).id;
    // HubSpot refused the delete (no worker runs here: the job is claimed and parked by hand).
    const [job] = await claimJobs(db(), ctx.hdb().caps, {
      target: 'hubspot',
      limit: 1,
      worker_id: 'w',
      now: Date.now() + 1000,
      lease_ms: 1000,
    });
    assert.ok(job, 'the erasure queued a HubSpot job');
    await markDead(db(), job.id, 'HubSpot 400: contact is under legal hold', 'invalid', t);
    // Two webhooks that came back for her, held; and one delivered job's fields.
    for (const [i, matched] of ['email', 'source'].entries()) {
      const event = `evt_e_held_${i}`;
      await db()
        .insertInto('inbox_events')
        .values({
          id: event,
          connector: 'hubspot',
          delivery_id: `held-${i}`,
          event_type: 'contact.updated',
          payload: JSON.stringify({ type: 'contact.updated', source: 'hubspot', external_id: '9101' }),
          status: 'ignored',
          attempts: 0,
          error: `held: names a person erased by ${erasure}`,
          received_at: t,
          applied_at: t,
        })
        .execute();
      await db()
        .insertInto('erasure_holds')
        .values({
          id: `ehd_e_${i}`,
          erasure_id: erasure,
          event_id: event,
          connector: 'hubspot',
          matched,
          status: 'held',
          decided_by: null,
          decided_at: null,
          created_at: t + i,
        })
        .execute();
    }
    await db()
      .insertInto('field_disclosures')
      .values({
        job_id: 'job_e_sent',
        customer_id: 'cus_e_bo',
        system: 'hubspot',
        target: 'hubspot',
        kind: 'crm.address_write',
        fields: JSON.stringify(['address', 'email']),
        delivered_at: t,
      })
      .execute();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await app.close();
  });

  const signIn = async (page: Page, key = ADMIN) => {
    await page.goto(url);
    await signInWith(page, key);
  };

  test('an admin sees each system’s status, retries a refusal, releases and dismisses held webhooks', {
    skip: !haveBrowser,
  }, async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    await signIn(page);
    await page.locator('a[href="#/erasures"]').click();
    await page.locator('main[data-ready="#/erasures"]').waitFor();
    const list = await page.locator('#erasures').innerText();
    assert.match(list, new RegExp(erasure));
    assert.match(list, /open/);
    assert.match(list, /hubspot:\s+failed after 1 attempt\(s\) — HubSpot 400: contact is under legal hold/);
    assert.doesNotMatch(await page.locator('main').innerText(), /ana\.erased|Quillfeather/, 'nothing of her is shown');
    assert.match(await page.locator('#disclosures').innerText(), /hubspot\s+crm\.address_write\s+address, email/);
    if (!(await page.evaluate('typeof axe !== "undefined"'))) await page.addScriptTag({ content: axe.source });
    const result = (await page.evaluate('axe.run()')) as axe.AxeResults;
    const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(
      serious.map((v) => `${v.id}: ${v.help}`),
      [],
    );

    await page.locator(`button[data-retry="${erasure}"]`).click();
    await page.locator('#erasure-status:has-text("Retry queued")').waitFor();
    assert.match(await page.locator('#erasures').innerText(), /hubspot:\s+pending/);
    const job = await db()
      .selectFrom('erasure_systems as s')
      .innerJoin('jobs as j', 'j.id', 's.job_id')
      .select(['j.status', 'j.attempts'])
      .where('s.erasure_id', '=', erasure)
      .executeTakeFirstOrThrow();
    assert.deepEqual([job.status, Number(job.attempts)], ['pending', 0]);

    assert.equal(await page.locator('#erasure-holds tbody tr').count(), 2);
    await page.locator('button[data-hold="ehd_e_1"][data-decision="dismiss"]').click();
    await page.locator('#erasure-status:has-text("Dismissed")').waitFor();
    await page.locator('button[data-hold="ehd_e_0"][data-decision="release"]').click();
    await page.locator('#erasure-status:has-text("Released")').waitFor();
    assert.match(await page.locator('#erasure-holds').innerText(), /nothing held/);
    const holds = await db().selectFrom('erasure_holds').select(['id', 'status', 'decided_by']).orderBy('id').execute();
    assert.deepEqual(
      holds.map((h) => h.status),
      ['released', 'dismissed'],
    );
    const events = await db().selectFrom('inbox_events').select(['id', 'status']).orderBy('id').execute();
    assert.deepEqual(
      events.map((e) => e.status),
      ['pending', 'ignored'],
      'the released event waits to be applied; the dismissed one stays out',
    );

    // On a phone: no sideways overflow.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${url}/#/governance`);
    await page.locator('main[data-ready="#/governance"]').waitFor();
    await page.goto(`${url}/#/erasures`);
    await page.locator('main[data-ready="#/erasures"]').waitFor();
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
    assert.ok(overflow <= 0, `erasures page wider than a phone by ${overflow} px`);
    await page.close();
  });

  test('a read-only key reads erasures without the controls', { skip: !haveBrowser }, async () => {
    const made = await app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: { authorization: `Bearer ${ADMIN}` },
      payload: { name: 'erasure-readonly', role: 'readonly' },
    });
    const page = await browser!.newPage();
    await signIn(page, (made.json() as { key: string }).key);
    await page.goto(`${url}/#/erasures`);
    await page.locator('main[data-ready="#/erasures"]').waitFor();
    assert.match(await page.locator('main').innerText(), /Read only: retrying an erasure/);
    assert.match(await page.locator('#erasures').innerText(), new RegExp(erasure));
    assert.equal(await page.locator('button[data-retry], button[data-hold]').count(), 0);
    await page.close();
  });
});
