import { openDatabase } from '../db/database.ts';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHubSpotSim, type HubSpotSim } from '../../sim/hubspot.ts';
import { normalizeAddress } from '../address/index.ts';
import type { PostalAddress } from '../address/types.ts';
import { addressColumns, normalizeEmail } from '../canonical/customer.ts';
import type { HearthDb } from '../db/database.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { buildApp } from '../http/app.ts';
import { createApiKey } from '../http/auth.ts';
import { createLogger } from '../log.ts';
import { createMetrics } from '../metrics.ts';
import { newId } from '../ids.ts';
import type { Hearth } from '../runtime.ts';
import type { HearthConfig } from '../config/loader.ts';
import { HearthError } from '../errors.ts';
import { isQuiet } from '../engine/quiet.ts';
import { createRun, executeRun, resumeRun, type ReconcileDeps } from './reconcile-run.ts';
import { ADMIN_KEY, eventually, freePort, startTestHearth } from '../../test-support/harness.ts';

const SECRET = 'hubspot-client-secret';
const APP_ID = '777002';

interface Person {
  given_name: string;
  family_name: string;
  email: string;
  phone: string;
  address: PostalAddress;
}

/** A canonical customer as Hearth holds it (optionally linked to a CRM record in the crosswalk). */
async function insertCustomer(
  hdb: HearthDb,
  p: Person,
  link?: { system: string; external_id: string },
): Promise<string> {
  const now = Date.now();
  const id = newId('cus', now);
  await hdb.db
    .insertInto('customers')
    .values({
      id,
      given_name: p.given_name,
      family_name: p.family_name,
      email: p.email,
      email_normalized: normalizeEmail(p.email),
      phone: p.phone,
      ...addressColumns(p.address),
      address_key: normalizeAddress(p.address).key,
      address_source: 'shopify',
      address_validated_at: now,
      field_sources: JSON.stringify({ address: 'shopify' }),
      merged_into: null,
      version: 1,
      created_at: now,
      updated_at: now,
    })
    .execute();
  if (link)
    await hdb.db
      .insertInto('source_links')
      .values({
        system: link.system,
        external_id: link.external_id,
        customer_id: id,
        snapshot: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
  return id;
}

const chicago = (line1: string, line2: string | null = null, zip = '60614'): PostalAddress => ({
  line1,
  line2,
  city: 'Chicago',
  region: 'IL',
  postal_code: zip,
  country: 'US',
});
/** HubSpot properties of a person (line 2 folded into `address`, as HubSpot holds it). */
const hubspotProps = (p: Person): Record<string, string> => ({
  firstname: p.given_name,
  lastname: p.family_name,
  email: p.email,
  phone: p.phone,
  address: [p.address.line1, p.address.line2].filter(Boolean).join(' '),
  city: p.address.city!,
  state: p.address.region!,
  zip: p.address.postal_code!,
  country: p.address.country!,
});

const ana: Person = {
  given_name: 'Ana',
  family_name: 'Diaz',
  email: 'ana@example.com',
  phone: '+13125550101',
  address: chicago('2200 N Lincoln Ave', 'Apt 4B'),
};
const bo: Person = {
  given_name: 'Bo',
  family_name: 'Lee',
  email: 'bo@example.com',
  phone: '+13125550102',
  address: chicago('77 W Sunset Blvd', 'Apt 4B'),
};
const cy: Person = {
  given_name: 'Cy',
  family_name: 'Park',
  email: 'cy@example.com',
  phone: '+13125550103',
  address: chicago('9 Oak St'),
};
const dee: Person = {
  given_name: 'Dee',
  family_name: 'Moss',
  email: 'dee@example.com',
  phone: '+13125550104',
  address: chicago('1 Market St', 'Unit 7'),
};

describeEachDialect('live reconciliation against the HubSpot simulator', (ctx) => {
  let hearth: Hearth;
  let config: HearthConfig;
  let crm: HubSpotSim;
  let readonlyKey: string;
  const ids = { ana: '', bo: '', cy: '', dee: '', stranger: '' };
  const customers = { ana: '', bo: '', cy: '', dee: '' };
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };
  const api = (method: 'GET' | 'POST', url: string, payload?: unknown, headers: Record<string, string> = auth) =>
    hearth.app.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as object } : {}) });
  const deps = (): ReconcileDeps => ({
    hdb: hearth.hdb,
    connectors: hearth.connectors,
    config,
    metrics: hearth.metrics,
  });

  before(async () => {
    const port = await freePort();
    crm = await startHubSpotSim({
      webhook: { url: `http://127.0.0.1:${port}/webhooks/hubspot`, client_secret: SECRET, app_id: APP_ID },
    });
    ({ hearth, config } = await startTestHearth(ctx, {
      port,
      connectors: { hubspot: { access_token: crm.token, base_url: crm.url, client_secret: SECRET, app_id: APP_ID } },
      writeback: { crm: 'hubspot', sync_window_seconds: 60 },
      reconcile: { page_size: 2 },
    }));
    // Known disagreements: Ana's CRM address is stale; Bo's is the same door respelled; Cy's phone differs; Dee agrees.
    ids.ana = crm.createContact(
      hubspotProps({
        ...ana,
        address: { line1: '14 Elm St', city: 'Springfield', region: 'IL', postal_code: '62701', country: 'US' },
      }),
    );
    ids.bo = crm.createContact(
      hubspotProps({ ...bo, address: chicago('77 West Sunset Boulevard', 'Apartment 4-B', '60614-2201') }),
    );
    ids.cy = crm.createContact(hubspotProps({ ...cy, phone: '(312) 555-0199' }));
    ids.dee = crm.createContact(hubspotProps(dee));
    ids.stranger = crm.createContact({ email: 'stranger@example.com', firstname: 'Stan' });
    customers.ana = await insertCustomer(ctx.hdb(), ana, { system: 'hubspot', external_id: ids.ana });
    customers.bo = await insertCustomer(ctx.hdb(), bo);
    customers.cy = await insertCustomer(ctx.hdb(), cy);
    customers.dee = await insertCustomer(ctx.hdb(), dee);
    readonlyKey = (await createApiKey(ctx.hdb().db, 'viewer', 'readonly', Date.now())).key;
  });
  after(async () => {
    await hearth.close();
    await crm.close();
  });

  test('a run finds the stale address, the respelling (format only) and the phone drift; scores them', async () => {
    const res = await api('POST', '/v1/reconcile/runs', { wait: true });
    assert.equal(res.statusCode, 200, res.body);
    const run = res.json();
    assert.equal(run.status, 'done');
    assert.deepEqual([run.pages, run.records, run.matched, run.unmatched, run.findings, run.jobs], [3, 5, 4, 1, 3, 1]);
    const findings = (await api('GET', `/v1/reconcile/findings?run_id=${run.id}`)).json().data;
    const summary = findings.map((f: any) => [f.customer_id, f.field, f.kind, f.status]).sort();
    assert.deepEqual(
      summary,
      [
        [customers.ana, 'address', 'drift', 'healing'],
        [customers.bo, 'address', 'format_only', 'ignored'],
        [customers.cy, 'phone', 'drift', 'open'],
      ].sort(),
    );
    const stale = findings.find((f: any) => f.customer_id === customers.ana);
    assert.equal(stale.system_value, '14 Elm St, Springfield, IL 62701, US');
    assert.ok(stale.detail.differing.includes('street_name'));
    const phone = findings.find((f: any) => f.field === 'phone');
    assert.deepEqual(phone.detail, { canonical_e164: '+13125550103', system_e164: '+13125550199' });
    const line = (field: string) => run.scorecard.find((l: any) => l.system === 'hubspot' && l.field === field);
    assert.deepEqual(line('address'), {
      system: 'hubspot',
      field: 'address',
      compared: 4,
      drifted: 1,
      format_only: 1,
      drift_rate: 0.25,
      format_only_rate: 0.25,
    });
    assert.equal(line('phone').drift_rate, 0.25);
    assert.equal(line('given_name').drift_rate, 0);
  });

  test('the heal goes through the outbox: one write, echo suppressed; next run finds no address drift', async () => {
    const job = await eventually(
      async () => (await api('GET', '/v1/jobs?target=hubspot&status=done')).json().data[0],
      15_000,
      'heal delivered',
    );
    assert.equal(job.kind, 'crm.address_write');
    assert.equal(job.customer_id, customers.ana);
    const c = crm.getContact(ids.ana)!.properties;
    assert.deepEqual([c.address, c.city, c.zip], ['2200 N Lincoln Ave Apt 4B', 'Chicago', '60614']);
    assert.equal(crm.writes(ids.ana), 1);
    assert.equal(crm.writes(ids.bo), 0, 'a format-only difference is never written');
    await eventually(() => isQuiet(ctx.hdb().db), 15_000, 'settled');
    const echoes = await eventually(
      async () => {
        const rows = await ctx
          .hdb()
          .db.selectFrom('inbox_events')
          .select('status')
          .where('connector', '=', 'hubspot')
          .execute();
        return rows.length > 0 && rows.every((r) => r.status !== 'pending') ? rows : null;
      },
      10_000,
      'echo deliveries',
    );
    assert.ok(
      echoes.every((r) => r.status === 'echo'),
      JSON.stringify(echoes),
    );

    const second = (await api('POST', '/v1/reconcile/runs', { wait: true })).json();
    assert.equal(second.status, 'done');
    const addr = second.scorecard.find((l: any) => l.field === 'address');
    assert.deepEqual([addr.drifted, addr.format_only], [0, 1]);
    assert.equal(second.jobs, 0);
    const open = (await api('GET', '/v1/reconcile/findings?system=hubspot&field=phone&status=open')).json().data;
    assert.equal(open.length, 1, 'the earlier open phone finding is superseded by the new one');
    assert.equal(open[0].run_id, second.id);
    const card = (await api('GET', '/v1/reconcile/scorecard')).json();
    assert.equal(card.data.find((l: any) => l.field === 'address').run_id, second.id);
    assert.deepEqual(
      card.history.filter((h: any) => h.field === 'address').map((h: any) => h.drift_rate),
      [0, 0.25],
    );
    const metrics = (await hearth.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /hearth_reconcile_drift_ratio\{system="hubspot",field="address"\} 0\n/);
    assert.match(metrics, /hearth_reconcile_drift_ratio\{system="hubspot",field="phone"\} 0.25\n/);
    // Another process (a fresh app on the same database) exports the same scorecard from its start.
    const other = await buildApp({
      config,
      hdb: hearth.hdb,
      connectors: hearth.connectors,
      metrics: createMetrics(),
      logger: createLogger('silent'),
    });
    await other.ready();
    assert.match(
      (await other.inject({ method: 'GET', url: '/metrics' })).body,
      /hearth_reconcile_drifted_records\{system="hubspot",field="phone"\} 1\n/,
    );
    await other.close();
  });

  test('an operator decides findings: dismiss closes one once; heal writes the phone, echo suppressed', async () => {
    const [f] = (await api('GET', '/v1/reconcile/findings?field=phone&status=open')).json().data;
    assert.equal(
      (
        await api(
          'POST',
          `/v1/reconcile/findings/${f.id}`,
          { action: 'dismiss' },
          { authorization: `Bearer ${readonlyKey}` },
        )
      ).statusCode,
      403,
    );
    const dismissed = await api('POST', `/v1/reconcile/findings/${f.id}`, { action: 'dismiss' });
    assert.equal(dismissed.statusCode, 200);
    assert.deepEqual([dismissed.json().status, dismissed.json().decided_by], ['dismissed', 'bootstrap']);
    assert.equal((await api('POST', `/v1/reconcile/findings/${f.id}`, { action: 'dismiss' })).statusCode, 409);

    await eventually(() => isQuiet(ctx.hdb().db), 15_000, 'settled');
    const run = await createRun(deps(), { trigger: 'test', actor: 'test' });
    await executeRun(deps(), run.id);
    const [g] = (await api('GET', `/v1/reconcile/findings?run_id=${run.id}&field=phone&status=open`)).json().data;
    assert.ok(g, 'the phone still drifts, so the next run finds it again');
    const healed = await api('POST', `/v1/reconcile/findings/${g.id}`, { action: 'heal' });
    assert.equal(healed.statusCode, 200, healed.body);
    assert.equal(healed.json().status, 'healing');
    const job = await ctx
      .hdb()
      .db.selectFrom('jobs')
      .select(['kind', 'job_key'])
      .where('id', '=', healed.json().job_id)
      .executeTakeFirstOrThrow();
    assert.deepEqual([job.kind, job.job_key], ['crm.fields_write', `hubspot:${customers.cy}:phone`]);
    await eventually(
      async () => crm.getContact(ids.cy!)!.properties.phone === '+13125550103',
      10_000,
      'phone written to HubSpot',
    );
    await eventually(() => isQuiet(ctx.hdb().db), 15_000, 'settled after the write');
    const echoes = await ctx
      .hdb()
      .db.selectFrom('inbox_events')
      .select('payload')
      .where('connector', '=', 'hubspot')
      .where('status', '=', 'echo')
      .execute();
    assert.ok(
      echoes.some((e) => e.payload.includes('+13125550103')),
      'the CRM reporting our phone write back is an echo',
    );
    const again = await createRun(deps(), { trigger: 'test', actor: 'test' });
    await executeRun(deps(), again.id);
    assert.equal(
      (await api('GET', `/v1/reconcile/findings?run_id=${again.id}&field=phone&kind=drift`)).json().data.length,
      0,
      'no phone drift after the heal',
    );
  });

  test('an address finding under review is healed by the operator: finding and job commit together', async () => {
    // A CRM user edits the address; Hearth refuses it (checkout-validated addresses outrank the CRM),
    // so the CRM drifts.
    await ctx
      .hdb()
      .db.insertInto('source_links')
      .values({
        system: 'hubspot',
        external_id: ids.dee,
        customer_id: customers.dee,
        snapshot: null,
        created_at: Date.now(),
        updated_at: Date.now(),
      })
      .execute();
    crm.updateFromUi(ids.dee, { address: '500 Lake Shore Dr' });
    await eventually(
      async () =>
        (
          await ctx
            .hdb()
            .db.selectFrom('inbox_events')
            .select('id')
            .where('status', '=', 'applied')
            .where('connector', '=', 'hubspot')
            .execute()
        ).length > 0,
      10_000,
      'CRM edit applied',
    );
    await eventually(() => isQuiet(ctx.hdb().db), 15_000, 'settled');
    assert.equal(
      (
        await ctx
          .hdb()
          .db.selectFrom('customers')
          .select('address_line1')
          .where('id', '=', customers.dee)
          .executeTakeFirstOrThrow()
      ).address_line1,
      '1 Market St',
    );
    const run = await createRun(deps(), { trigger: 'test', actor: 'test' });
    const done = await executeRun(
      {
        ...deps(),
        config: {
          ...config,
          reconcile: { ...config.reconcile, policies: { ...config.reconcile.policies, address: 'review' } },
        },
      },
      run.id,
    );
    assert.equal(done.jobs, 0);
    const [f] = (await api('GET', `/v1/reconcile/findings?run_id=${run.id}&field=address&kind=drift`)).json().data;
    assert.equal(f.status, 'open');
    const healed = (await api('POST', `/v1/reconcile/findings/${f.id}`, { action: 'heal' })).json();
    assert.equal(healed.status, 'healing');
    const job = (await api('GET', `/v1/jobs/${healed.job_id}`)).json();
    assert.deepEqual(
      [job.kind, job.customer_id, job.payload.external_id, job.payload.address.line1],
      ['crm.address_write', customers.dee, ids.dee, '1 Market St'],
    );
    await eventually(
      async () => crm.getContact(ids.dee)!.properties.address === '1 Market St Unit 7',
      15_000,
      'operator heal delivered',
    );
  });

  test('a run stopped after a page keeps its cursor and resumes without counting twice', async () => {
    await eventually(() => isQuiet(ctx.hdb().db), 15_000, 'settled');
    const run = await createRun(deps(), { trigger: 'test', actor: 'test' });
    const paused = await executeRun(deps(), run.id, { max_pages: 1 });
    assert.equal(paused.status, 'paused');
    const saved = (await api('GET', `/v1/reconcile/runs/${run.id}`)).json();
    assert.deepEqual(
      [saved.status, saved.pages, saved.records, saved.position],
      ['paused', 1, 2, { system: 'hubspot', cursor: '2' }],
    );
    assert.equal(
      (await api('POST', '/v1/reconcile/runs', {})).statusCode,
      202,
      'a paused run does not block a new one',
    );
    await eventually(
      async () => (await api('GET', '/v1/reconcile/runs?limit=1')).json().data[0].status === 'done',
      15_000,
      'background run',
    );
    const [first, second] = await Promise.allSettled([resumeRun(deps(), run.id), resumeRun(deps(), run.id)]);
    assert.equal([first, second].filter((r) => r.status === 'fulfilled').length, 1, 'a run resumes once');
    const refused = [first, second].find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(refused.reason instanceof HearthError && refused.reason.code === 'conflict');
    const done = await executeRun(deps(), run.id);
    assert.deepEqual([done.status, done.pages, done.records, done.matched, done.unmatched], ['done', 3, 5, 4, 1]);
    const rows = await ctx
      .hdb()
      .db.selectFrom('drift_findings')
      .select(['external_id', 'field'])
      .where('run_id', '=', run.id)
      .execute();
    assert.equal(new Set(rows.map((r) => `${r.external_id}/${r.field}`)).size, rows.length, 'no record reported twice');
    assert.equal(
      (await api('POST', `/v1/reconcile/runs/${run.id}/resume`, {})).statusCode,
      409,
      'a finished run does not resume',
    );
    await assert.rejects(
      executeRun(deps(), run.id),
      (e: unknown) => e instanceof HearthError && e.code === 'conflict',
      'a finished run is not executed again',
    );
  });

  test('runs started at the same moment: exactly one starts, the others are told which run is live', async () => {
    await eventually(() => isQuiet(ctx.hdb().db), 15_000, 'settled');
    // On PostgreSQL a second pool makes the starts truly concurrent, as two Hearth processes would;
    // SQLite is one process by design (one connection, transactions in turn).
    const other = ctx.hdb().caps.singleProcess ? hearth.hdb : openDatabase(ctx.url());
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          createRun({ ...deps(), hdb: i % 2 ? other : hearth.hdb }, { trigger: 'test', actor: `racer${i}` }),
        ),
      );
      const started = results.filter((r) => r.status === 'fulfilled');
      assert.equal(started.length, 1);
      for (const r of results)
        if (r.status === 'rejected')
          assert.ok(
            r.reason instanceof HearthError && r.reason.code === 'conflict' && /still running/.test(r.reason.message),
            String(r.reason?.stack ?? r.reason),
          );
      const live = await ctx
        .hdb()
        .db.selectFrom('reconcile_runs')
        .select('id')
        .where('status', '=', 'running')
        .execute();
      assert.equal(live.length, 1);
      const done = await executeRun(deps(), (started[0] as PromiseFulfilledResult<{ id: string }>).value.id);
      assert.equal(done.status, 'done');
    } finally {
      if (other !== hearth.hdb) await other.close();
    }
  });

  test('routes: auth, roles and bad input answer 4xx with a clear error', async () => {
    assert.equal((await api('GET', '/v1/reconcile/scorecard', undefined, {})).statusCode, 401);
    assert.equal(
      (await api('POST', '/v1/reconcile/runs', {}, { authorization: `Bearer ${readonlyKey}` })).statusCode,
      403,
    );
    assert.equal(
      (await api('GET', '/v1/reconcile/findings', undefined, { authorization: `Bearer ${readonlyKey}` })).statusCode,
      200,
    );
    const bad = await api('POST', '/v1/reconcile/runs', { systems: ['zoho'] });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'bad_request');
    assert.equal(
      (await api('POST', '/v1/reconcile/runs', { systems: ['salesforce'] })).statusCode,
      400,
      'salesforce is not connected here',
    );
    assert.equal((await api('GET', '/v1/reconcile/findings?status=bogus')).statusCode, 400);
    assert.equal((await api('GET', '/v1/reconcile/runs/run_nope')).statusCode, 404);
    assert.equal((await api('POST', '/v1/reconcile/findings/drf_nope', { action: 'heal' })).statusCode, 404);
    assert.equal((await api('POST', '/v1/reconcile/findings/drf_nope', { action: 'fix' })).statusCode, 400);
  });

  test('a rate-limited pull waits out Retry-After; a CRM that refuses fails the run, resumable', async () => {
    crm.faults.set({ rate_limit_next: 1, retry_after_s: 0 });
    const ok = (await api('POST', '/v1/reconcile/runs', { wait: true })).json();
    assert.equal(ok.status, 'done');
    crm.faults.set({ server_error_next: 50 });
    const failed = (await api('POST', '/v1/reconcile/runs', { wait: true })).json();
    assert.equal(failed.status, 'failed');
    assert.match(failed.error, /HubSpot 503/);
    crm.faults.set({});
    const resumed = (await api('POST', `/v1/reconcile/runs/${failed.id}/resume`, { wait: true })).json();
    assert.deepEqual([resumed.status, resumed.records], ['done', 5]);
  });
});

describeEachDialect('scheduled reconciliation', (ctx) => {
  const SCHEDULE_MINUTES = 0.002;
  let hearth: Hearth;
  let crm: HubSpotSim;
  // The schedule's interval timer, seen through a spy on setInterval/clearInterval while Hearth starts.
  const schedules: { timer: ReturnType<typeof setInterval>; cleared: boolean }[] = [];
  const realSetInterval = globalThis.setInterval;
  const realClearInterval = globalThis.clearInterval;
  before(async () => {
    crm = await startHubSpotSim();
    crm.createContact(hubspotProps(ana));
    globalThis.setInterval = ((fn: () => void, ms?: number) => {
      const timer = realSetInterval(fn, ms);
      if (ms === SCHEDULE_MINUTES * 60_000) schedules.push({ timer, cleared: false });
      return timer;
    }) as typeof setInterval;
    globalThis.clearInterval = ((timer?: Parameters<typeof clearInterval>[0]) => {
      for (const s of schedules) if (s.timer === timer) s.cleared = true;
      realClearInterval(timer);
    }) as typeof clearInterval;
    // The customer first: a run the schedule starts before it exists reads no records (seen on a
    // loaded machine, where the first tick came before the insert).
    await insertCustomer(ctx.hdb(), ana);
    try {
      ({ hearth } = await startTestHearth(ctx, {
        connectors: { hubspot: { access_token: crm.token, base_url: crm.url } },
        reconcile: { schedule_minutes: SCHEDULE_MINUTES },
      }));
    } finally {
      globalThis.setInterval = realSetInterval;
    }
  });
  after(async () => {
    globalThis.clearInterval = realClearInterval;
    await hearth.close();
    await crm.close();
  });

  test('runs start on the schedule, one at a time, and stop when Hearth closes', async () => {
    const runs = await eventually(
      async () => {
        const rows = await ctx
          .hdb()
          .db.selectFrom('reconcile_runs')
          .selectAll()
          .where('trigger', '=', 'schedule')
          .where('status', '=', 'done')
          .execute();
        return rows.length >= 2 ? rows : null;
      },
      10_000,
      'two scheduled runs',
    );
    assert.ok(runs.every((r) => r.records === 1 && r.matched === 1 && r.findings === 0));
    const ordered = [...runs].sort((a, b) => a.started_at - b.started_at);
    ordered.slice(1).forEach((r, i) => assert.ok(r.started_at >= ordered[i]!.finished_at!, 'runs never overlap'));
    await hearth.close();
    // Provably idle: close() awaited the run in flight, and the schedule's timer (the only thing
    // that starts runs here) is cleared, so no run can start after this point.
    assert.equal(schedules.length, 1, 'one schedule timer');
    assert.ok(schedules[0]!.cleared, 'the schedule timer is cleared on close');
    const live = await ctx.hdb().db.selectFrom('reconcile_runs').select('id').where('status', '=', 'running').execute();
    assert.deepEqual(live, [], 'a run in flight was paused, not left running');
  });
});
