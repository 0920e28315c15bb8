import { captureIo } from '../../test-support/test-io.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startHubSpotSim, type HubSpotSim } from '../../sim/hubspot.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { householdMembersAt, membershipAt } from '../households/membership-store.ts';
import { main } from '../main.ts';

const io = () => captureIo();

describeEachDialect('hearth sync pull (HubSpot contact-to-contact household labels)', (ctx) => {
  let crm: HubSpotSim;
  let configFile = '';
  const ids: Record<string, string> = {};
  const run = async (...args: string[]) => {
    const t = io();
    const code = await main(['sync', ...args, '--config', configFile, '--db', ctx.url()], t.io);
    return { code, out: t.out(), err: t.err() };
  };
  const customerOf = async (id: string) =>
    (
      await ctx
        .hdb()
        .db.selectFrom('source_links')
        .select('customer_id')
        .where('system', '=', 'hubspot')
        .where('external_id', '=', id)
        .executeTakeFirstOrThrow()
    ).customer_id;

  before(async () => {
    crm = await startHubSpotSim();
    ids.head = crm.createContact({
      email: 'pat@ng.example',
      firstname: 'Pat',
      lastname: 'Ng',
      points_aggregation_opt_in: 'true',
    });
    ids.kid = crm.createContact({
      email: 'sam@ng.example',
      firstname: 'Sam',
      lastname: 'Ng',
      points_aggregation_opt_in: 'true',
    });
    ids.spouse = crm.createContact({ email: 'jo@ng.example', firstname: 'Jo', lastname: 'Ng' });
    ids.single = crm.createContact({ email: 'al@solo.example', firstname: 'Al', lastname: 'Solo' });
    crm.households.labelHousehold(ids.kid, ids.head);
    crm.households.labelHousehold(ids.spouse, ids.head);
    const dir = mkdtempSync(join(tmpdir(), 'hearth-sync-'));
    configFile = join(dir, 'hearth.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        connectors: { hubspot: { access_token: crm.token, base_url: crm.url } },
        households: { source: 'hubspot', hubspot_mode: 'contact_labels' },
        log: { level: 'silent' },
      }),
    );
  });
  after(() => crm.close());

  test('a paused pull resumes and builds the household around its labelled head', async () => {
    const first = await run('pull', 'hubspot', '--page-size', '3', '--max-pages', '1', '--json');
    assert.equal(first.code, 0, first.err);
    const paused = JSON.parse(first.out);
    assert.deepEqual([paused.status, paused.contacts], ['paused', 3]);
    const rest = await run('pull', 'hubspot', '--page-size', '3');
    assert.equal(rest.code, 0, rest.err);
    assert.match(rest.out, new RegExp(`pull ${paused.pull_id} \\(hubspot\\): done \\(resumed\\)`));
    assert.match(rest.out, /contacts=4 pages=2 customers_created=4 households_created=1 members_changed=3/);
    const head = (await membershipAt(ctx.hdb().db, await customerOf(ids.head!)))!;
    assert.equal(head.role, 'head');
    const members = await householdMembersAt(ctx.hdb().db, head.household_id);
    assert.deepEqual(members.map((m) => m.role).sort(), ['head', 'member', 'member']);
    assert.equal((await membershipAt(ctx.hdb().db, await customerOf(ids.kid!)))!.points_aggregation_opt_in, true);
    assert.equal((await membershipAt(ctx.hdb().db, await customerOf(ids.spouse!)))!.points_aggregation_opt_in, false);
    assert.equal(await membershipAt(ctx.hdb().db, await customerOf(ids.single!)), undefined);
    const hh = await ctx
      .hdb()
      .db.selectFrom('households')
      .select('external_id')
      .where('id', '=', head.household_id)
      .executeTakeFirstOrThrow();
    assert.equal(hh.external_id, `contact:${ids.head}`);
  });

  test('bad input is one line and exit 2, nothing written', async () => {
    const pullsBefore = (await ctx.hdb().db.selectFrom('household_pulls').select('id').execute()).length;
    for (const [args, why] of [
      [['pull'], /usage: hearth sync pull/],
      [['push', 'hubspot'], /usage/],
      [['pull', 'shopify'], /connector shopify cannot be pulled/],
      [['pull', 'salesforce'], /connector salesforce is not configured/],
      [['pull', 'hubspot', '--max-pages', '0'], /--max-pages must be a positive integer/],
    ] as const) {
      const r = await run(...args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err, why);
      assert.equal(r.err.trim().split('\n').length, 1);
    }
    assert.equal((await ctx.hdb().db.selectFrom('household_pulls').select('id').execute()).length, pullsBefore);
    const help = io();
    assert.equal(await main(['sync', '--help'], help.io), 0);
    assert.match(help.out(), /hearth sync pull/);
  });
});
