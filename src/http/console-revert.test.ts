import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { parseConfig } from '../config/loader.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { browserAvailable, launchBrowser, signInWith, startConsoleApp } from '../../test-support/console-browser.ts';

const ADMIN = 'hk_console_revert_admin_key';
const haveBrowser = browserAvailable('console revert browser test');
const MIN = 60_000;

describeEachDialect('console: revert a source or a window from the governance page', (ctx) => {
  let app: FastifyInstance;
  let browser: Browser | undefined;
  let url = '';
  const db = () => ctx.hdb().db;

  before(async () => {
    const config = parseConfig({ log: { level: 'silent' } }, { HEARTH_API_KEY: ADMIN });
    ({ app, url } = await startConsoleApp(ctx.hdb(), config));
    const t = Date.now();
    await db()
      .insertInto('customers')
      .values({
        id: 'cus_r_ben',
        given_name: 'Ben',
        family_name: 'Okafor',
        email: 'ben.r@example.com',
        email_normalized: 'ben.r@example.com',
        field_sources: JSON.stringify({ given_name: 'zoho' }),
        version: 2,
        created_at: t - 60 * MIN,
        updated_at: t - 35 * MIN,
      })
      .execute();
    // A bad import from Zoho renamed him.
    await db()
      .insertInto('change_lineage')
      .values({
        id: 'lin_r_ben_1',
        customer_id: 'cus_r_ben',
        source_system: 'zoho',
        actor: 'zoho',
        event_id: 'evt_r_import',
        changed_at: t - 35 * MIN,
        changes: JSON.stringify([['given_name', 'Benedict', 'Ben']]),
      })
      .execute();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await app.close();
  });

  const signIn = async (page: Page, key: string) => {
    await page.goto(url);
    await signInWith(page, key);
    await page.goto(`${url}/#/governance`);
    await page.locator('main[data-ready="#/governance"]').waitFor();
  };

  const dryRunSource = async (page: Page) => {
    await page.locator('#revert-kind').selectOption('source');
    assert.equal(await page.locator('#revert-run').isVisible(), false, 'only the source form shows');
    await page.locator('#revert-source').fill('zoho');
    await page.locator('#revert-since').fill('2000-01-01T00:00');
    await page.locator('#revert-dry-run').click();
    await page.locator('#revert-steps').waitFor();
    assert.match(await page.locator('#revert-panel').innerText(), /Revert source zoho since 2000-01-01/);
    assert.match(await page.locator('#revert-steps').innerText(), /given name\s+Ben\s+Benedict/);
  };

  test('a read-only key gets the dry run and a refusal; nothing is written', { skip: !haveBrowser }, async () => {
    const made = await app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: { authorization: `Bearer ${ADMIN}` },
      payload: { name: 'revert-readonly', role: 'readonly' },
    });
    const page = await browser!.newPage();
    await signIn(page, (made.json() as { key: string }).key);
    await dryRunSource(page);
    await page.locator('#revert-apply').click();
    await page.locator('#revert-panel .revert-error').waitFor();
    assert.match(await page.locator('#revert-panel').innerText(), /an admin key \(a source or a window\)/);
    const ben = await db()
      .selectFrom('customers')
      .select('given_name')
      .where('id', '=', 'cus_r_ben')
      .executeTakeFirst();
    assert.equal(ben?.given_name, 'Ben');
    await page.close();
  });

  test('an admin reverts what one source wrote, as a new change', { skip: !haveBrowser }, async () => {
    const page = await browser!.newPage();
    await signIn(page, ADMIN);
    await page.locator('#revert-dry-run').click();
    assert.match(await page.locator('#governance-status').innerText(), /Say what to revert first/);
    await dryRunSource(page);
    await page.locator('#revert-apply').click();
    await page.locator('#governance-status:has-text("Reverted 1 field")').waitFor();
    const ben = await db()
      .selectFrom('customers')
      .select('given_name')
      .where('id', '=', 'cus_r_ben')
      .executeTakeFirst();
    assert.equal(ben?.given_name, 'Benedict');
    const history = await db()
      .selectFrom('change_lineage')
      .select(['id', 'source_system'])
      .where('customer_id', '=', 'cus_r_ben')
      .execute();
    assert.equal(history.length, 2, 'the import stays in the history; the revert is a new change');
    await page.close();
  });
});
