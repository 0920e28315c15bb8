import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axe from 'axe-core';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Browser, Page } from 'playwright-core';
import { parseConfig } from '../config/loader.ts';
import type { DialectCaps } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { browserAvailable, launchBrowser, signInWith, startConsoleApp } from '../../test-support/console-browser.ts';
import { linkSource } from '../customers/customer-store.ts';
import { claimJobs, enqueueJobs, markDead, markDone } from '../engine/jobs.ts';
import { setMembership, upsertHousehold } from '../households/membership-store.ts';
import { appendEntry } from '../loyalty/ledger-store.ts';
import { queueMatchReview } from '../identity/review-store.ts';
import type { components } from '../console/api-types.ts';

type Schemas = components['schemas'];
const ADMIN = 'hk_console_test_admin_key';
const haveBrowser = browserAvailable('console browser test');

const MIN = 60_000;

/** For the overflow message: the elements past the right edge that no scrolling box holds. */
const WIDEST =
  "[...document.querySelectorAll('main *')]" +
  '.filter((e) => e.getBoundingClientRect().right > innerWidth + 1 && !e.parentElement.closest(".scroll"))' +
  ".slice(0, 6).map((e) => `${e.tagName}.${e.className}#${e.id}`).join(' ')";

/** Demo-like data: a household with a ledger, every system state, late and dead write-backs, a review pair, drift. */
async function seed(db: Kysely<Database>, caps: DialectCaps, t: number): Promise<{ deadJob: string; lateJob: string }> {
  const person = (id: string, given: string, family: string, email: string, extra: Record<string, unknown> = {}) => ({
    id,
    given_name: given,
    family_name: family,
    email,
    email_normalized: email,
    field_sources: '{}',
    version: 1,
    created_at: t - 60 * MIN,
    updated_at: t - 30 * MIN,
    ...extra,
  });
  const chicago = {
    address_line1: '2200 N Lincoln Ave',
    address_line2: 'Apt 4B',
    city: 'Chicago',
    region: 'IL',
    postal_code: '60614',
    country: 'US',
    address_source: 'shopify',
  };
  await db
    .insertInto('customers')
    .values([
      person('cus_c_ana', 'Ana', 'Diaz', 'ana@example.com', {
        ...chicago,
        phone: '+13125550101',
        field_sources: JSON.stringify({ address: 'shopify', email: 'hubspot', given_name: 'hubspot' }),
      }),
      person('cus_c_ben', 'Ben', 'Diaz', 'ben@example.com', chicago),
      person('cus_c_ada', 'Ada', 'Okoro', 'ada@example.com', { phone: '+12125550199' }),
      person('cus_c_adaeze', 'Adaeze', 'Okoro', 'adaeze@example.net'),
      ...Array.from({ length: 30 }, (_, i) =>
        person(`cus_c_p${String(i).padStart(2, '0')}`, `Pat${i}`, 'Paging', `pat${i}@example.org`),
      ),
    ])
    .execute();
  await linkSource(db, 'hubspot', '5101', 'cus_c_ana', null, t - 50 * MIN);
  await linkSource(db, 'shopify', '7001', 'cus_c_ana', null, t - 50 * MIN);
  await db
    .insertInto('change_lineage')
    .values({
      id: 'lin_c_ana_1',
      customer_id: 'cus_c_ana',
      source_system: 'shopify',
      actor: 'shopify',
      event_id: 'evt_c_ana_move',
      changed_at: t - 40 * MIN,
      changes: JSON.stringify([
        ['address_line1', '14 Elm St', '2200 N Lincoln Ave'],
        ['city', 'Springfield', 'Chicago'],
      ]),
    })
    .execute();

  // Governance and billing (demo-like): an event that renamed Ben, Ana's Stripe standing and
  // subscription, a phone held by a quality rule, and writes held in shadow mode for HubSpot.
  await db
    .insertInto('change_lineage')
    .values({
      id: 'lin_c_ben_1',
      customer_id: 'cus_c_ben',
      source_system: 'hubspot',
      actor: 'hubspot',
      event_id: 'evt_c_rename',
      changed_at: t - 35 * MIN,
      changes: JSON.stringify([['given_name', 'Benjamin', 'Ben']]),
    })
    .execute();
  await db
    .insertInto('billing_accounts')
    .values({
      system: 'stripe',
      external_id: 'cus_S_ana',
      customer_id: 'cus_c_ana',
      status: 'past_due',
      status_at: t - 3 * 24 * 60 * MIN,
      status_reason: 'invoice.payment_failed',
      billing_address: JSON.stringify({
        line1: '1 Billing Plaza',
        line2: null,
        city: 'Evanston',
        region: 'IL',
        postal_code: '60201',
        country: 'US',
      }),
      address_at: t - 3 * 24 * 60 * MIN,
      email: 'ana@example.com',
      updated_at: t - 3 * 24 * 60 * MIN,
    })
    .execute();
  await db
    .insertInto('billing_subscriptions')
    .values({
      system: 'stripe',
      subscription_id: 'sub_c_family',
      external_id: 'cus_S_ana',
      name: 'Family plan',
      status: 'past_due',
      changed_at: t - 3 * 24 * 60 * MIN,
    })
    .execute();
  await db
    .insertInto('quality_reviews')
    .values(
      [
        ['qr_c_1', 'cus_c_ada', '+1212555', 'phone.format'],
        ['qr_c_2', 'cus_c_adaeze', '+12125550123', 'phone.format'],
      ].map(([id, customer, value, rule]) => ({
        id: id!,
        customer_id: customer!,
        source_system: 'hubspot',
        event_id: null,
        field: 'phone',
        rule: rule!,
        reason: 'not a valid phone number',
        old_value: customer === 'cus_c_ada' ? '+12125550199' : null,
        new_value: value!,
        status: 'open' as const,
        decided_by: null,
        decided_at: null,
        created_at: t - 3 * MIN,
      })),
    )
    .execute();
  await db
    .insertInto('shadow_writes')
    .values(
      ['cus_c_p01', 'cus_c_p02'].map((customer, i) => ({
        id: `shw_c_${i}`,
        job_id: `job_c_shadow_${i}`,
        target: 'hubspot',
        kind: 'crm.address_write',
        job_key: `hubspot:${customer}`,
        customer_id: customer,
        payload: '{}',
        fields: '["address"]',
        status: 'shadowed' as const,
        created_at: t - 2 * MIN,
        updated_at: t - 2 * MIN,
      })),
    )
    .execute();

  /** One job through its life: queued at `origin`, then done, dead or left pending at `at`. */
  const job = async (
    target: string,
    kind: string,
    customer: string,
    origin: number,
    end: 'done' | 'dead' | 'pending',
    at: number,
    error = '',
  ) => {
    const [id] = await enqueueJobs(
      db,
      [
        {
          target,
          kind,
          job_key: `${target}:${customer}:${origin}`,
          payload: {},
          origin_at: origin,
          customer_id: customer,
        },
      ],
      3,
      origin,
    );
    if (end === 'pending') return id!;
    const [claimed] = await claimJobs(db, caps, { target, limit: 1, worker_id: 'w', now: at, lease_ms: 1000 });
    assert.equal(claimed?.id, id);
    if (end === 'done') await markDone(db, id!, at);
    else await markDead(db, id!, error, 'invalid', at);
    return id!;
  };
  await job('hubspot', 'crm.address_write', 'cus_c_ana', t - 40 * MIN, 'done', t - 40 * MIN + 2000);
  await job(
    'webhook:loyalty',
    'webhook.address_corrected',
    'cus_c_ana',
    t - 40 * MIN,
    'dead',
    t - 39 * MIN,
    'HTTP 500 from receiver',
  );
  await job('stripe', 'profile.project', 'cus_c_ana', t - 40 * MIN, 'pending', t);
  for (const [i, lagS] of [1, 3, 4, 12, 25, 40].entries())
    await job(
      'hubspot',
      'crm.address_write',
      `cus_c_p${String(i).padStart(2, '0')}`,
      t - (50 - i * 5) * MIN,
      'done',
      t - (50 - i * 5) * MIN + lagS * 1000,
    );
  const lateJob = await job('hubspot', 'crm.address_write', 'cus_c_ben', t - 20 * MIN, 'done', t - 16 * MIN);
  const deadJob = await job(
    'hubspot',
    'crm.address_write',
    'cus_c_ada',
    t - 10 * MIN,
    'dead',
    t - 9 * MIN,
    'HubSpot 400: <b>invalid</b> zip',
  );

  const hh = await upsertHousehold(db, 'hubspot', 'co-1', 'Diaz household', t - 55 * MIN);
  await setMembership(
    db,
    'cus_c_ana',
    { household_id: hh, role: 'head', opt_in: true, source_system: 'hubspot' },
    t - 55 * MIN,
  );
  await setMembership(
    db,
    'cus_c_ben',
    { household_id: hh, role: 'member', opt_in: true, source_system: 'hubspot' },
    t - 55 * MIN,
  );
  const entry = (
    customer: string | null,
    kind: 'earn' | 'adjust',
    points: number,
    at: number,
    extra: Record<string, string> = {},
  ) =>
    appendEntry(
      db,
      {
        kind,
        account_id: hh,
        customer_id: customer,
        household_id: hh,
        points,
        source: 'shopify',
        actor: 'shopify',
        occurred_at: at,
        ...extra,
      },
      at,
    );
  await entry('cus_c_ana', 'earn', 120, t - 45 * MIN, { order_name: '#1001' });
  await entry('cus_c_ben', 'earn', 80, t - 35 * MIN, { order_name: '#1002' });
  await entry(null, 'adjust', -20, t - 25 * MIN, {
    source: 'api',
    actor: 'ops@example.com',
    reason: 'goodwill correction',
  });

  await queueMatchReview(
    db,
    {
      existing: 'cus_c_ada',
      incoming: 'cus_c_adaeze',
      score: 0.8,
      explanation: {
        match_probability: 0.8,
        fields: [
          { field: 'family_name', level: 'exact', weight: 6.5, tf_adjustment: 0 },
          { field: 'email', level: 'differ', weight: -4.2, tf_adjustment: 0 },
        ],
        guard: 'emails and phones both differ',
      },
      source_system: 'shopify',
      event_id: null,
    },
    t - 5 * MIN,
  );
  for (const [i, drifted] of [3, 5, 1].entries()) {
    const at = t - (2 - i) * 24 * 60 * MIN;
    const id = `run_c_${i}`;
    await db
      .insertInto('reconcile_runs')
      .values({
        id,
        status: 'done',
        trigger: 'schedule',
        actor: 'scheduler',
        systems: '["hubspot"]',
        system: null,
        cursor: null,
        pages: 1,
        records: 40,
        matched: 40,
        unmatched: 0,
        findings: drifted,
        jobs: drifted,
        stats: '{}',
        error: null,
        started_at: at,
        updated_at: at,
        finished_at: at,
      })
      .execute();
    await db
      .insertInto('reconcile_scores')
      .values([
        { run_id: id, system: 'hubspot', field: 'address', compared: 40, drifted, format_only: 2, computed_at: at },
        { run_id: id, system: 'hubspot', field: 'phone', compared: 40, drifted: i, format_only: 0, computed_at: at },
      ])
      .execute();
  }
  await db
    .insertInto('drift_findings')
    .values({
      id: 'dft_c_1',
      run_id: 'run_c_2',
      system: 'hubspot',
      external_id: '5101',
      customer_id: 'cus_c_ana',
      field: 'phone',
      kind: 'drift',
      policy: 'review',
      status: 'open',
      canonical_value: '+13125550101',
      system_value: '+13125550999',
      detail: null,
      job_id: null,
      decided_by: null,
      decided_at: null,
      created_at: t,
      updated_at: t,
    })
    .execute();
  return { deadJob, lateJob };
}

describeEachDialect('operator console in a real browser', (ctx, dialect) => {
  let app: FastifyInstance;
  let browser: Browser | undefined;
  let url = '';
  let jobs: { deadJob: string; lateJob: string };
  const shots = mkdtempSync(join(tmpdir(), `hearth-console-${dialect}-`));
  before(async () => {
    const config = parseConfig(
      { log: { level: 'silent' }, writeback: { sync_window_seconds: 60 } },
      { HEARTH_API_KEY: ADMIN },
    );
    ({ app, url } = await startConsoleApp(ctx.hdb(), config));
    jobs = await seed(ctx.hdb().db, ctx.hdb().caps, Date.now());
    browser = await launchBrowser();
    console.log(`# console screenshots (${dialect}): ${shots}`);
  });
  after(async () => {
    await browser?.close();
    await app.close();
  });

  const signIn = (page: Page) => signInWith(page, ADMIN);

  test('without a key: counts only, no personal data; the key never reaches a URL', {
    skip: !haveBrowser,
  }, async () => {
    const page = await browser!.newPage();
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    await page.goto(url);
    assert.equal(await page.title(), 'Hearth console');
    assert.equal(await page.locator('#n-customers').innerText(), '34');
    assert.equal(await page.locator('#n-dead').innerText(), '2');
    assert.equal(await page.locator('#n-late').innerText(), '2', 'done late, and dead past the window');
    assert.equal(await page.locator('#n-review').innerText(), '1');
    const text = await page.locator('body').innerText();
    for (const secret of ['Diaz', 'ana@example.com', 'cus_c_', 'Chicago', jobs.deadJob])
      assert.ok(!text.includes(secret), `${secret} shown without a key`);
    await page.goto(`${url}/#/customers`);
    await page.locator('.status.err:has-text("Sign in")').waitFor();
    await page.fill('#api-key', 'hk_wrong');
    await page.click('#sign-in');
    await page.locator('#key-status.err').waitFor();
    assert.match(await page.locator('#key-status').innerText(), /API key/i);
    await signIn(page);
    await page.locator('h1:has-text("Customers")').waitFor();
    assert.equal(await page.evaluate('sessionStorage.getItem("hearth_api_key")'), ADMIN);
    assert.ok(!requested.some((u) => u.includes(ADMIN)), 'the key appeared in a requested URL');
    assert.ok(!page.url().includes(ADMIN));
    await page.close();
  });

  test('keyboard only, under the real CSP: search, open a customer, see every system and the ledger', {
    skip: !haveBrowser,
  }, async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(url);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Skip to content');
    await page.focus('#api-key');
    await page.keyboard.type(ADMIN);
    await page.keyboard.press('Enter');
    await page.locator('#sign-out:visible').waitFor();
    await page.focus('nav a[href="#/customers"]');
    await page.keyboard.press('Enter');
    await page.locator('#customer-q').waitFor();
    await page.locator('#customer-q').focus();
    await page.keyboard.type('diaz');
    await page.keyboard.press('Enter');
    await page.locator('#customer-status:has-text("2 shown")').waitFor();
    assert.equal(await page.locator('#customer-results tbody tr').count(), 2);
    await page.locator('#customer-results a:has-text("Ana Diaz")').focus();
    await page.keyboard.press('Enter');
    await page.locator('#ledger').waitFor();
    assert.equal(await page.evaluate('document.activeElement.tagName'), 'H1');
    const record = await page.locator('#customer-record').innerText();
    assert.match(record, /Address\s+2200 N Lincoln Ave, Apt 4B, Chicago, IL, 60614, US\s+(\S+\s+)?shopify/);
    assert.match(record, /E-mail\s+ana@example.com\s+(\S+\s+)?hubspot/);
    const systems = await page.locator('#customer-systems').innerText();
    assert.match(systems, /hubspot\s+confirmed/);
    assert.match(systems, /stripe\s+pending/);
    assert.match(systems, /webhook:loyalty\s+dead[\s\S]*HTTP 500 from receiver/);
    assert.match(await page.locator('#customer-links').innerText(), /hubspot\s+5101/);
    assert.match(await page.locator('main').innerText(), /address line1\s+14 Elm St\s+2200 N Lincoln Ave\s+shopify/);
    assert.match(
      await page.locator('#customer-household').innerText(),
      /Diaz household · head · points pooling on · pool 180/,
    );
    assert.match(await page.locator('#household-members').innerText(), /Ben Diaz\s+ben@example.com\s+member\s+on/);
    const ledger = await page.locator('#ledger').innerText();
    assert.match(ledger, /adjust\s+-20[\s\S]*ops@example.com via api\s+goodwill correction/);
    assert.match(ledger, /earn\s+\+120\s+#1001/);
    // Paging through every customer with the cursor.
    await page.goto(`${url}/#/customers`);
    await page.locator('#customer-q').fill('');
    await page.locator('#customer-form button').click();
    await page.locator('#customer-more').click();
    await page.locator('button:has-text("Previous page")').waitFor();
    assert.equal(await page.locator('#customer-results tbody tr').count(), 34 - 25);
    // Charts draw under the CSP: uPlot comes from Hearth, not a CDN.
    await page.goto(`${url}/#/drift`);
    await page.locator('#drift-charts canvas').first().waitFor();
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('every page at 1,280 px and on a phone: no sideways overflow, no serious axe violations, screenshots', {
    skip: !haveBrowser,
  }, async () => {
    // bypassCSP only so axe-core can be injected; the test above runs the console under its real CSP.
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    await page.goto(url);
    await signIn(page);
    const pages: [string, string][] = [
      ['overview', '#/'],
      ['customers', '#/customers'],
      ['customer', '#/customers/cus_c_ana'],
      ['households', '#/households'],
      ['household', '#/households/'],
      ['writeback', '#/writeback'],
      ['review', '#/review'],
      ['drift', '#/drift'],
      ['connectors', '#/connectors'],
      ['governance', '#/governance'],
    ];
    const household = await ctx.hdb().db.selectFrom('households').select('id').executeTakeFirstOrThrow();
    const overflow = async () =>
      (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
    for (const [width, label] of [
      [1280, 'desktop'],
      [390, 'phone'],
    ] as const) {
      await page.setViewportSize({ width, height: width > 500 ? 900 : 844 });
      for (const [name, hash] of pages) {
        await page.goto(`${url}/${hash}${name === 'household' ? household.id : ''}`);
        await page.locator(`main[data-ready="${hash}${name === 'household' ? household.id : ''}"]`).waitFor();
        if (['writeback', 'drift'].includes(name)) await page.locator('main canvas').first().waitFor();
        const wide = (await page.evaluate(WIDEST)) as string;
        assert.ok((await overflow()) <= 0, `${name} wider than ${width} px by ${await overflow()} px: ${wide}`);
        await page.screenshot({ path: join(shots, `${name}-${label}.png`), fullPage: true });
        if (label === 'phone') continue;
        if (!(await page.evaluate('typeof axe !== "undefined"'))) await page.addScriptTag({ content: axe.source });
        const result = (await page.evaluate('axe.run()')) as axe.AxeResults;
        const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
        assert.deepEqual(
          serious.map((v) => `${name}: ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
          [],
        );
      }
    }
    await page.close();
  });

  test('write-back: histogram and SLO, the late job, a dead letter shown as text and re-driven', {
    skip: !haveBrowser,
  }, async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(url);
    await signIn(page);
    await page.goto(`${url}/#/writeback`);
    await page.locator('#lag-charts canvas').first().waitFor();
    const lag = (await (
      await app.inject({
        url: '/v1/writeback/lag?hours=1&bucket_seconds=60',
        headers: { authorization: `Bearer ${ADMIN}` },
      })
    ).json()) as Schemas['WritebackLag'];
    assert.equal(
      lag.histogram.reduce((n, b) => n + b.count, 0),
      8,
    );
    assert.equal(lag.histogram.find((b) => b.le_seconds === 300)?.count, 1, 'the 4-minute write-back');
    assert.equal(lag.dead, 1);
    assert.match(await page.locator('#lag-charts').innerText(), /Within 60 s\s+8[67]\.\d%/);
    assert.match(await page.locator('#late').innerText(), new RegExp(`${jobs.lateJob.slice(-8)}[\\s\\S]*4\\.0 min`));
    const row = page.locator(`#dead tr:has(button[data-job="${jobs.deadJob}"])`);
    assert.match(await row.innerText(), /HubSpot 400: <b>invalid<\/b> zip/, 'the vendor error is text, not markup');
    await row.locator('button').click();
    await page.locator('#writeback-status:has-text("queued again")').waitFor();
    const status = await ctx
      .hdb()
      .db.selectFrom('jobs')
      .select('status')
      .where('id', '=', jobs.deadJob)
      .executeTakeFirstOrThrow();
    assert.equal(status.status, 'pending');
    await page.close();
  });

  test('identity review: side by side, reasons in words, decided as not a match', { skip: !haveBrowser }, async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(url);
    await signIn(page);
    await page.goto(`${url}/#/review`);
    const item = page.locator('article.review-item').first();
    await item.waitFor();
    const text = await item.innerText();
    assert.match(text, /Possibly the same person · 80% likely/);
    assert.match(text, /Name\s+Ada Okoro\s+Adaeze Okoro\s+≠ differs/);
    assert.match(text, /E-mail\s+ada@example.com\s+adaeze@example.net\s+≠ differs/);
    assert.match(text, /Held back for a person to decide: emails and phones both differ\./);
    assert.match(text, /family name: the same \(counts for, \+6\.5\)/);
    assert.match(text, /email: different \(counts against, −4\.2\)/);
    await item.locator('button[data-decision="not_a_match"]').click();
    await page.locator('#review-status:has-text("not a match")').waitFor();
    assert.equal(await page.locator('article.review-item').count(), 0);
    const decided = await ctx.hdb().db.selectFrom('review_items').select('status').executeTakeFirstOrThrow();
    assert.equal(decided.status, 'not_a_match');
    await page.close();
  });

  test('drift over time per field, households, connectors', { skip: !haveBrowser }, async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(url);
    await signIn(page);
    await page.goto(`${url}/#/drift`);
    await page.locator('#drift-latest').waitFor();
    assert.match(await page.locator('#drift-latest').innerText(), /hubspot\s+address\s+40\s+1\s+2\.5%\s+2/);
    assert.equal(await page.locator('#drift-charts figure').count(), 1, 'one chart per system');
    const numbers = (await page.locator('#drift-charts figure details table').textContent()) ?? '';
    assert.match(numbers, /12\.5%/, "the chart's numbers: 5 of 40 addresses drifted in the middle run");
    // The customer's name replaces the short id once looked up.
    const finding = page.locator('tr:has(button[data-action="dismiss"]):has-text("Ana Diaz")');
    await finding.waitFor();
    assert.match(
      await finding.innerText(),
      /Ana Diaz\s+hubspot\s+phone\s+\+13125550101\s+\+13125550999\s+review\s+open/,
    );
    await finding.locator('button[data-action="dismiss"]').click();
    await page.locator('#drift-status:has-text("dismissed")').waitFor();
    const decided = await ctx.hdb().db.selectFrom('drift_findings').select('status').executeTakeFirstOrThrow();
    assert.equal(decided.status, 'dismissed');
    await page.goto(`${url}/#/households`);
    await page.locator('#households a:has-text("Diaz household")').click();
    await page.locator('#household-members').waitFor();
    assert.match(await page.locator('main').innerText(), /Pool balance\s+180 points/);
    await page.goto(`${url}/#/connectors`);
    await page.locator('#connectors').waitFor();
    assert.match(await page.locator('#connectors').innerText(), /no connectors configured/);
    await page.click('#run-checks');
    await page.locator('#connector-checks table').waitFor();
    await page.close();
  });
  test('customer page: billing panel; revert from the history with a dry run first, a 409 listed, an event reverted', {
    skip: !haveBrowser,
  }, async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await signIn(page);
    await page.goto(`${url}/#/customers/cus_c_ana`);
    await page.locator('#customer-billing').waitFor();
    const billing = await page.locator('#customer-billing').innerText();
    assert.match(billing, /Status\s+past due\s+since \d{4}-\d\d-\d\d \d\d:\d\d/);
    assert.match(billing, /Billing address\s+1 Billing Plaza, Evanston, IL, 60201, US/);
    assert.match(
      await page.locator('#customer-subscriptions').innerText(),
      /Family plan\s+past due\s+stripe\s+sub_c_family/,
    );
    // Dry run: nothing written, the fields that would change shown.
    const db = ctx.hdb().db;
    await page.locator('button[data-revert-event="evt_c_ana_move"]').click();
    await page.locator('#revert-panel h3 + *').waitFor();
    assert.match(await page.locator('#revert-panel').innerText(), /Dry run, nothing written yet: 2 field/);
    const steps = await page.locator('#revert-steps').innerText();
    assert.match(steps, /address line1\s+2200 N Lincoln Ave\s+14 Elm St/);
    assert.match(steps, /city\s+Chicago\s+Springfield/);
    assert.equal(await page.evaluate('document.activeElement.tagName'), 'H3', 'focus moves to the dry run');
    // A newer change lands between the dry run and the confirmation: the server answers 409, nothing written.
    await db
      .insertInto('change_lineage')
      .values({
        id: 'lin_c_ana_2',
        customer_id: 'cus_c_ana',
        source_system: 'hubspot',
        actor: 'hubspot',
        event_id: null,
        changed_at: Date.now(),
        changes: JSON.stringify([['address_line1', '2200 N Lincoln Ave', '9 Oak St']]),
      })
      .execute();
    await page.click('#revert-apply');
    await page.locator('.revert-error .revert-conflicts').waitFor();
    const conflict = await page.locator('.revert-error').innerText();
    assert.match(conflict, /Not reverted: revert of .* stopped: 1 field\(s\) changed since by hubspot/);
    assert.match(conflict, /address( line1)?\s+9 Oak St\s+hubspot/);
    const ana = await db
      .selectFrom('customers')
      .select('address_line1')
      .where('id', '=', 'cus_c_ana')
      .executeTakeFirstOrThrow();
    assert.equal(ana.address_line1, '2200 N Lincoln Ave', 'a refused revert writes nothing');
    await page.locator('#revert-panel button:has-text("Close")').click();
    assert.equal(await page.locator('#revert-panel').isHidden(), true);
    // Revert one change by keyboard: dry run, then Enter on Apply; the history shows the new change.
    await page.goto(`${url}/#/customers/cus_c_ben`);
    await page.locator('button[data-revert-change="lin_c_ben_1.00"]').focus();
    await page.keyboard.press('Enter');
    await page.locator('#revert-steps').waitFor();
    assert.match(await page.locator('#revert-steps').innerText(), /given name\s+Ben\s+Benjamin/);
    await page.locator('#revert-apply').focus();
    await page.keyboard.press('Enter');
    await page.locator('#revert-panel .status:has-text("Reverted 1 field")').waitFor();
    // The history redraws with the revert as a new change on top (the old one stays).
    await page.locator('#customer-history tbody tr >> nth=1').waitFor();
    const ben = await db
      .selectFrom('customers')
      .select('given_name')
      .where('id', '=', 'cus_c_ben')
      .executeTakeFirstOrThrow();
    assert.equal(ben.given_name, 'Benjamin');
    assert.match(await page.locator('#customer-history').innerText(), /given name\s+Ben\s+Benjamin\s+hearth/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('governance: flags set by an admin with history, shadow report per system, quality review decided', {
    skip: !haveBrowser,
  }, async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(url);
    await signIn(page);
    await page.locator('nav a[href="#/governance"]').click();
    await page.locator('main[data-ready="#/governance"]').waitFor();
    assert.match(await page.locator('#flags').innerText(), /reconcile\.heal\s+on\s+on\s+reconciliation heals/);
    assert.match(await page.locator('#flag-changes').innerText(), /no flag changed yet/);
    const form = page.locator('form.flag-form[data-flag="reconcile.heal"]');
    await form.locator('select').selectOption('off');
    await form.locator('input').fill('vendor outage');
    await form.locator('button').click();
    await page.locator('#governance-status:has-text("reconcile.heal is now off")').waitFor();
    await page.locator('#flag-changes tr:has-text("vendor outage")').waitFor();
    assert.match(
      await page.locator('#flag-changes').innerText(),
      /reconcile\.heal\s+default\s+off\s+\S+\s+vendor outage/,
    );
    const flag = await ctx
      .hdb()
      .db.selectFrom('feature_flags')
      .selectAll()
      .where('name', '=', 'reconcile.heal')
      .executeTakeFirstOrThrow();
    assert.equal(flag.value, 'off');
    const shadow = await page.locator('#shadow').innerText();
    assert.match(shadow, /hubspot: 2 write\(s\) held for 2 contact\(s\)/);
    assert.match(shadow, /2 contacts would get a new address/);
    const held = page.locator('#quality-reviews tr:has(button[data-review="qr_c_1"])');
    assert.match(
      await held.innerText(),
      /phone\s+\+12125550199\s+\+1212555\s+phone\.format\s+not a valid phone number\s+hubspot/,
    );
    await held.locator('button[data-decision="reject"]').click();
    await page.locator('#governance-status:has-text("Rejected: phone keeps its value")').waitFor();
    await page.locator('#quality-reviews tr:has(button[data-review="qr_c_2"]) button[data-decision="approve"]').click();
    await page.locator('#governance-status:has-text("Approved")').waitFor();
    assert.match(await page.locator('#quality-reviews').innerText(), /nothing waiting/);
    const reviews = await ctx.hdb().db.selectFrom('quality_reviews').select(['id', 'status']).orderBy('id').execute();
    assert.deepEqual(
      reviews.map((r) => r.status),
      ['rejected', 'approved'],
    );
    const adaeze = await ctx
      .hdb()
      .db.selectFrom('customers')
      .select('phone')
      .where('id', '=', 'cus_c_adaeze')
      .executeTakeFirstOrThrow();
    assert.equal(adaeze.phone, '+12125550123');
    // A read-only key sees the flags without the control, and cannot decide.
    const made = await app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: { authorization: `Bearer ${ADMIN}` },
      payload: { name: 'console-readonly', role: 'readonly' },
    });
    const readonly = (made.json() as { key: string }).key;
    await page.click('#sign-out');
    await page.fill('#api-key', readonly);
    await page.click('#sign-in');
    await page.locator('#sign-out:visible').waitFor();
    await page.goto(`${url}/#/governance`);
    await page.locator('main[data-ready="#/governance"]').waitFor();
    assert.match(await page.locator('main').innerText(), /Read only: setting a flag needs an admin key/);
    assert.equal(await page.locator('form.flag-form').count(), 0);
    await page.close();
  });
});
