import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startHubSpotSim, type HubSpotSim } from '../../sim/hubspot.ts';
import { startScimSim, type ScimSim } from '../../sim/idp.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { call, contactUpdate, ingest, keyOf } from '../../test-support/governance.ts';
import { ADMIN_KEY, eventually, startTestHearth } from '../../test-support/harness.ts';
import type { HearthConfig } from '../config/loader.ts';
import type { Hearth } from '../runtime.ts';
import { captureIo } from '../../test-support/test-io.ts';
import { main } from '../main.ts';
import { eraseCustomer } from './erasure.ts';
import { eventIdentifiers, phoneKey, tombstoneHasher } from './erasure-hash.ts';
import { systemStatus } from './erasure-report.ts';

const address = { line1: '12 Elm St', city: 'Springfield', region: 'IL', postal_code: '62701', country: 'US' };

test('identifiers: e-mail case and phone spelling do not matter; the source record is named', () => {
  const ev = contactUpdate('hubspot', '77', { email: ' Ana@Example.COM ', phone: '+1 (555) 000-0001' });
  assert.deepEqual(eventIdentifiers(ev), [
    { kind: 'source', value: 'hubspot:77' },
    { kind: 'email', value: 'ana@example.com' },
    { kind: 'phone', value: '5550000001' },
  ]);
  assert.equal(phoneKey('555-0001'), '5550001');
  assert.equal(phoneKey('12'), null);
  assert.deepEqual(
    ['done', 'dead', 'pending', 'running', 'shadow'].map((s) => systemStatus({ status: s as 'done' })),
    ['done', 'failed', 'pending', 'pending', 'shadowed'],
  );
});

describeEachDialect('erasure: DELETE /v1/customers/:id', (ctx) => {
  let hearth: Hearth;
  let config: HearthConfig;
  let crm: HubSpotSim;
  let scim: ScimSim;
  const db = () => ctx.hdb().db;
  const erase = async (id: string, key = ADMIN_KEY) => {
    const res = await hearth.app.inject({
      method: 'DELETE',
      url: `/v1/customers/${id}`,
      headers: { authorization: `Bearer ${key}` },
    });
    return { status: res.statusCode, body: res.json() as any };
  };
  const customerByEmail = async (email: string) =>
    (await call(hearth, 'GET', `/v1/customers?email=${encodeURIComponent(email)}`)).body.data[0] as
      | { id: string }
      | undefined;
  const report = async (id: string) => (await call(hearth, 'GET', `/v1/erasures/${id}`)).body;
  const systemsOf = (r: any) => Object.fromEntries(r.systems.map((s: any) => [s.system, s.status]));

  before(async () => {
    [crm, scim] = await Promise.all([startHubSpotSim(), startScimSim()]);
    ({ hearth, config } = await startTestHearth(ctx, {
      connectors: {
        hubspot: { access_token: crm.token, base_url: crm.url },
        scim: { base_url: scim.url, access_token: scim.token },
      },
    }));
  });
  after(async () => {
    await hearth.close();
    await Promise.all([crm.close(), scim.close()]);
  });

  test('erases the person here, leaves only keyed hashes, and each system deletes them', async () => {
    const hs = crm.createContact({ email: 'ana@example.com', firstname: 'Ana' });
    const login = scim.addUser('ana@example.com');
    await ingest(hearth, ctx.hdb(), [
      contactUpdate('hubspot', hs, {
        given_name: 'Ana',
        family_name: 'Diaz',
        email: 'Ana@Example.com',
        phone: '+1 555 000 0001',
        address,
      }),
    ]);
    const customer = await customerByEmail('ana@example.com');
    assert.ok(customer, 'the contact became a customer');
    const lineageBefore = await db()
      .selectFrom('change_lineage')
      .select('id')
      .where('customer_id', '=', customer.id)
      .execute();
    assert.ok(lineageBefore.length > 0);

    // Roles: only an admin erases; an unknown id is a 404.
    assert.equal((await erase(customer.id, await keyOf(hearth, 'operator'))).status, 403);
    assert.equal((await erase(customer.id, await keyOf(hearth, 'readonly'))).status, 403);
    assert.equal((await erase('cus_nosuch')).status, 404);
    assert.ok(await customerByEmail('ana@example.com'), 'a refused erasure changed nothing');

    const res = await erase(customer.id);
    assert.equal(res.status, 200);
    assert.equal(res.body.customer_id, customer.id);
    assert.deepEqual(
      res.body.systems.map((s: any) => s.system),
      ['hubspot', 'scim'],
    );
    assert.ok(res.body.systems.every((s: any) => s.job_id));
    assert.equal(res.body.removed.customers, 1);

    // Gone here: the row, the crosswalk, the change-log values, the inbox payload.
    assert.equal((await call(hearth, 'GET', `/v1/customers/${customer.id}`)).status, 404);
    assert.equal(await customerByEmail('ana@example.com'), undefined);
    const links = await db().selectFrom('source_links').selectAll().where('customer_id', '=', customer.id).execute();
    assert.deepEqual(links, []);
    const lineage = await db()
      .selectFrom('change_lineage')
      .selectAll()
      .where('customer_id', '=', customer.id)
      .execute();
    assert.equal(lineage.length, lineageBefore.length, 'which field changed when stays');
    for (const row of lineage)
      for (const [, from, to] of JSON.parse(row.changes) as unknown[][]) assert.deepEqual([from, to], [null, null]);
    const mentions = await db()
      .selectFrom('inbox_events')
      .select('id')
      .where((eb) => eb.or([eb('payload', 'like', '%xample.com%'), eb('payload', 'like', '%Elm St%')]))
      .execute();
    assert.deepEqual(mentions, [], 'no inbox payload names her');
    const stones = await db()
      .selectFrom('erasure_tombstones')
      .selectAll()
      .where('erasure_id', '=', res.body.id)
      .execute();
    assert.deepEqual([...new Set(stones.map((s) => s.kind))].sort(), ['email', 'phone', 'source']);
    for (const s of stones) assert.doesNotMatch(s.hash, /ana|example|555|@/i);
    const hasher = (await tombstoneHasher(db(), config.security, Date.now(), false))!;
    assert.ok(stones.some((s) => s.hash === hasher('email', 'ana@example.com')));

    // A revert cannot bring her back: the blanked values are unsupported, nothing is written as null.
    const revert = await call(hearth, 'POST', '/v1/revert', {
      customers: [customer.id],
      since: new Date(0).toISOString(),
      dry_run: false,
    });
    assert.equal(revert.status, 200);
    assert.deepEqual([revert.body.applied, revert.body.steps], [false, []]);
    assert.ok(revert.body.unsupported.length >= lineage.length);
    assert.equal((await call(hearth, 'GET', `/v1/customers/${customer.id}`)).status, 404);

    // Each system confirms: HubSpot's GDPR delete and the IdP's DELETE /Users/:id landed.
    const done = await eventually(async () => {
      const r = await report(res.body.id);
      return r.status === 'done' ? r : null;
    });
    assert.deepEqual(systemsOf(done), { hubspot: 'done', scim: 'done' });
    assert.equal(crm.getContact(hs), undefined);
    assert.equal(scim.getUser(login), undefined);
    const list = await call(hearth, 'GET', '/v1/erasures?limit=10', undefined, await keyOf(hearth, 'readonly'));
    assert.ok(list.body.data.some((e: any) => e.id === res.body.id));
  });

  test('a returning webhook for an erased person is held for review, not recreated; release applies it', async () => {
    const hs = crm.createContact({ email: 'cy@example.com' });
    await ingest(hearth, ctx.hdb(), [contactUpdate('hubspot', hs, { given_name: 'Cy', email: 'cy@example.com' })]);
    const cy = (await customerByEmail('cy@example.com'))!;
    const erased = (await erase(cy.id)).body;

    // The CRM reports her again, under a new record id: recognised by the e-mail's keyed hash.
    await ingest(hearth, ctx.hdb(), [contactUpdate('hubspot', '99001', { given_name: 'Cy', email: 'CY@example.com' })]);
    assert.equal(await customerByEmail('cy@example.com'), undefined, 'not silently recreated');
    const r = await report(erased.id);
    assert.equal(r.holds.length, 1);
    assert.deepEqual([r.holds[0].matched, r.holds[0].status, r.holds[0].connector], ['email', 'held', 'hubspot']);
    const ev = await db()
      .selectFrom('inbox_events')
      .selectAll()
      .where('id', '=', r.holds[0].event_id)
      .executeTakeFirstOrThrow();
    assert.equal(ev.status, 'ignored');
    assert.match(ev.error ?? '', new RegExp(`held: names a person erased by ${erased.id}`));

    // The same record id alone is recognised too (source hash), and a second decision is a conflict.
    await ingest(hearth, ctx.hdb(), [contactUpdate('hubspot', hs, { given_name: 'Cy' })]);
    assert.equal((await report(erased.id)).holds.length, 2);

    const operator = await keyOf(hearth, 'operator');
    const path = `/v1/erasures/holds/${r.holds[0].id}`;
    assert.equal((await call(hearth, 'POST', path, { decision: 'release' }, operator)).status, 403);
    const released = await call(hearth, 'POST', path, { decision: 'release' });
    assert.equal(released.status, 200);
    assert.equal(released.body.status, 'released');
    assert.equal((await call(hearth, 'POST', path, { decision: 'dismiss' })).status, 409);
    await eventually(() => customerByEmail('cy@example.com'), 10_000, 'released event applied as a new customer');
    // Released: the tombstone is lifted, her next change applies as usual.
    await ingest(hearth, ctx.hdb(), [
      contactUpdate('hubspot', '99001', { given_name: 'Cyd', email: 'cy@example.com' }),
    ]);
    assert.equal((await report(erased.id)).holds.length, 2, 'nothing more held');
    const back = await call(hearth, 'GET', `/v1/customers/${(await customerByEmail('cy@example.com'))!.id}`);
    assert.equal(back.body.given_name, 'Cyd');
  });

  test('a phone alone holds an event only when it names no other e-mail (families share phones)', async () => {
    await ingest(hearth, ctx.hdb(), [
      contactUpdate('hubspot', '66001', { given_name: 'Flo', email: 'flo@example.com', phone: '+1 555 444 0001' }),
    ]);
    const flo = (await customerByEmail('flo@example.com'))!;
    const erased = (await erase(flo.id)).body;
    await ingest(hearth, ctx.hdb(), [
      contactUpdate('hubspot', '66002', { given_name: 'Gus', email: 'gus@example.com', phone: '(555) 444-0001' }),
      contactUpdate('hubspot', '66003', { given_name: 'Flo', phone: '555 444 0001' }),
    ]);
    assert.ok(await customerByEmail('gus@example.com'), 'a family member with the same phone applies');
    const holds = (await report(erased.id)).holds;
    assert.deepEqual(
      holds.map((h: any) => h.matched),
      ['phone'],
    );
  });

  test('a system that refuses stays open with its error until the erasure is retried', async () => {
    const hs = crm.createContact({ email: 'bo@example.com' });
    await ingest(hearth, ctx.hdb(), [contactUpdate('hubspot', hs, { given_name: 'Bo', email: 'bo@example.com' })]);
    const bo = (await customerByEmail('bo@example.com'))!;
    crm.faults.set({ reject_delete: { status: 400, message: 'contact is under legal hold' } });
    const erased = (await erase(bo.id)).body;
    const failed = await eventually(async () => {
      const r = await report(erased.id);
      return systemsOf(r).hubspot === 'failed' && systemsOf(r).scim === 'done' ? r : null;
    });
    assert.equal(failed.status, 'open');
    const hub = failed.systems.find((s: any) => s.system === 'hubspot');
    assert.match(hub.error, /400.*legal hold/);
    assert.ok(crm.getContact(hs), 'still there');
    // No login with that e-mail: the IdP had nothing to delete, and says so as done.

    crm.faults.set({});
    assert.equal(
      (await call(hearth, 'POST', `/v1/erasures/${erased.id}/retry`, {}, await keyOf(hearth, 'operator'))).status,
      403,
    );
    const retried = await call(hearth, 'POST', `/v1/erasures/${erased.id}/retry`, {});
    assert.equal(retried.status, 200);
    const done = await eventually(async () => {
      const r = await report(erased.id);
      return r.status === 'done' ? r : null;
    });
    assert.deepEqual(systemsOf(done), { hubspot: 'done', scim: 'done' });
    assert.equal(crm.getContact(hs), undefined);
  });

  test('erasure and jobs are one transaction: a failure queuing the jobs leaves the person intact', async () => {
    const hs = crm.createContact({ email: 'di@example.com' });
    await ingest(hearth, ctx.hdb(), [contactUpdate('hubspot', hs, { given_name: 'Di', email: 'di@example.com' })]);
    const di = (await customerByEmail('di@example.com'))!;
    const hasher = (await tombstoneHasher(db(), config.security, Date.now(), true))!;
    await assert.rejects(
      db()
        .transaction()
        .execute((trx) =>
          eraseCustomer(trx, di.id, {
            actor: 'test',
            now: Date.now(),
            caps: ctx.hdb().caps,
            hasher,
            systems: [{ system: 'hubspot', target: 'hubspot' }],
            enqueue: async () => {
              throw new Error('outbox unavailable');
            },
          }),
        ),
      /outbox unavailable/,
    );
    assert.ok(await customerByEmail('di@example.com'));
    const links = await db()
      .selectFrom('source_links')
      .select('external_id')
      .where('customer_id', '=', di.id)
      .execute();
    assert.deepEqual(links, [{ external_id: hs }]);
    const stones = await db()
      .selectFrom('erasure_tombstones')
      .select('hash')
      .where('hash', '=', hasher('email', 'di@example.com'))
      .execute();
    assert.deepEqual(stones, []);
  });

  test('hearth erase and hearth erasures: erase from the CLI, list, show, bad input is one line', async () => {
    const run = async (...argv: string[]) => {
      const t = captureIo();
      const code = await main([...argv, '--db', ctx.url()], t.io);
      return { code, out: t.out(), err: t.err() };
    };
    await ingest(hearth, ctx.hdb(), [contactUpdate('hubspot', '88001', { given_name: 'Ed', email: 'ed@example.com' })]);
    const ed = (await customerByEmail('ed@example.com'))!;
    const erased = await run('erase', ed.id, '--json');
    assert.equal(erased.code, 0, erased.err);
    const report = JSON.parse(erased.out);
    assert.equal(report.customer_id, ed.id);
    assert.deepEqual(report.systems, [], 'the CLI here has no connectors configured: nothing to queue');
    assert.equal(await customerByEmail('ed@example.com'), undefined);
    const shown = await run('erasures', report.id);
    assert.equal(shown.code, 0, shown.err);
    assert.match(shown.out, new RegExp(`erasure ${report.id} of ${ed.id} by cli: done`));
    const listed = await run('erasures', '--limit', '5');
    assert.match(listed.out, new RegExp(report.id));
    const again = await run('erase', ed.id);
    assert.equal(again.code, 2);
    assert.match(again.err, /customer .* not found/);
    assert.equal(again.err.trim().split('\n').length, 1);
    assert.equal((await run('erase')).code, 2);
  });

  test('erasing a merged record erases the survivor and everything merged into it', async () => {
    await ingest(hearth, ctx.hdb(), [
      contactUpdate('hubspot', '55001', { given_name: 'Hal', email: 'hal@example.com' }),
      contactUpdate('hubspot', '55002', { given_name: 'Hal', email: 'hal.old@example.com' }),
    ]);
    const survivor = (await customerByEmail('hal@example.com'))!;
    const merged = (await customerByEmail('hal.old@example.com'))!;
    await db().updateTable('customers').set({ merged_into: survivor.id }).where('id', '=', merged.id).execute();
    const res = await erase(merged.id);
    assert.equal(res.status, 200);
    assert.equal(res.body.customer_id, survivor.id, 'resolved to the survivor');
    assert.equal(res.body.removed.customers, 2);
    const left = await db().selectFrom('customers').select('id').where('id', 'in', [survivor.id, merged.id]).execute();
    assert.deepEqual(left, []);
    const hasher = (await tombstoneHasher(db(), config.security, Date.now(), false))!;
    const stones = await db()
      .selectFrom('erasure_tombstones')
      .select('hash')
      .where('erasure_id', '=', res.body.id)
      .execute();
    const hashes = new Set(stones.map((r) => r.hash));
    for (const [kind, value] of [
      ['email', 'hal@example.com'],
      ['email', 'hal.old@example.com'],
      ['source', 'hubspot:55001'],
      ['source', 'hubspot:55002'],
    ] as const)
      assert.ok(hashes.has(hasher(kind, value)), `${kind} ${value} is tombstoned`);
  });
});
