import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { after, before, test } from 'node:test';
import { startReceiver, type Receiver } from '../../sim/receiver.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { call, contactUpdate, ingest, keyOf } from '../../test-support/governance.ts';
import { eventually, startTestHearth } from '../../test-support/harness.ts';
import { SIGNED_CONNECTORS } from '../../test-support/signers.ts';
import { captureIo } from '../../test-support/test-io.ts';
import { main } from '../main.ts';
import type { Hearth } from '../runtime.ts';

describeEachDialect('governance: revert as new changes', (ctx) => {
  let hearth: Hearth;
  let receiver: Receiver;
  let operator = '';
  let readonly = '';
  const db = () => ctx.hdb().db;
  const customerOf = async (system: string, ext: string) =>
    (
      await db()
        .selectFrom('source_links')
        .select('customer_id')
        .where('system', '=', system)
        .where('external_id', '=', ext)
        .executeTakeFirstOrThrow()
    ).customer_id;
  const customer = (id: string) =>
    db().selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const eventOf = async (system: string, ext: string) =>
    (
      await db()
        .selectFrom('inbox_events')
        .select('id')
        .where('connector', '=', system)
        .where('payload', 'like', `%"external_id":"${ext}"%`)
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow()
    ).id;
  const lineageCount = async () => (await db().selectFrom('change_lineage').select('id').execute()).length;

  before(async () => {
    receiver = await startReceiver();
    ({ hearth } = await startTestHearth(ctx, {
      connectors: {
        ...SIGNED_CONNECTORS,
        webhook: {
          targets: [
            {
              name: 'loyalty',
              url: receiver.url,
              secret: 'whsec_gov1',
              events: ['address.corrected', 'customer.updated'],
            },
          ],
        },
      },
    }));
    operator = await keyOf(hearth, 'operator');
    readonly = await keyOf(hearth, 'readonly');
  });
  after(async () => {
    await hearth.close();
    await receiver.close();
  });

  test('a bad import is reverted by event: values back, history kept, jobs queued with the revert', async () => {
    await ingest(hearth, ctx.hdb(), [
      contactUpdate('hubspot', 'h-1', { email: 'ana@example.com', given_name: 'Ana', phone: '+15550000001' }),
      contactUpdate('hubspot', 'h-2', { email: 'ben@example.com', given_name: 'Ben', phone: '+15550000002' }),
    ]);
    await ingest(hearth, ctx.hdb(), [contactUpdate('hubspot', 'h-1', { phone: '+15559999991' })]);
    const bad = await eventOf('hubspot', 'h-1');
    const ana = await customerOf('hubspot', 'h-1');
    assert.equal((await customer(ana)).phone, '+15559999991');

    const before = await lineageCount();
    const dry = await call(hearth, 'POST', '/v1/revert', { event: bad, dry_run: true }, readonly);
    assert.equal(dry.status, 200);
    assert.equal(dry.body.applied, false);
    assert.deepEqual(
      dry.body.steps.map((s: { field: string; from: string; to: string }) => [s.field, s.from, s.to]),
      [['phone', '+15559999991', '+15550000001']],
    );
    assert.equal(await lineageCount(), before, 'a dry run writes nothing');
    const one = await db().selectFrom('change_log').select('id').where('event_id', '=', bad).executeTakeFirstOrThrow();
    const byChange = await call(hearth, 'POST', '/v1/revert', { change: one.id, dry_run: true }, readonly);
    assert.deepEqual(byChange.body.steps, dry.body.steps);
    assert.equal((await call(hearth, 'POST', '/v1/revert', { event: bad, dry_run: false }, readonly)).status, 403);

    const done = await call(hearth, 'POST', '/v1/revert', { event: bad, dry_run: false }, operator);
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.applied, true);
    assert.match(done.body.id, /^rvt_/);
    assert.equal((await customer(ana)).phone, '+15550000001');
    const rows = await db().selectFrom('change_log').selectAll().where('event_id', '=', done.body.id).execute();
    assert.deepEqual(
      rows.map((r) => [r.field, r.old_value, r.new_value, r.source_system, r.actor.startsWith('revert:')]),
      [['phone', '+15559999991', '+15550000001', 'hearth', true]],
    );
    const jobs = await db().selectFrom('jobs').selectAll().where('event_id', '=', done.body.id).execute();
    assert.deepEqual(
      jobs.map((j) => j.target),
      ['webhook:loyalty'],
    );
    await eventually(
      async () =>
        receiver.received.find(
          (r) => JSON.stringify(r.body).includes(done.body.id) && JSON.stringify(r.body).includes('+15550000001'),
        ),
      10_000,
      'the revert reached the subscriber',
    );
    // The delivered events match the schema Hearth publishes for them.
    const schemas = (await call(hearth, 'GET', '/v1/schemas')).body.data as {
      type: string;
      version: number;
      schema: object;
    }[];
    const ajv = new Ajv2020({ strict: false });
    ajv.addFormat('date-time', true);
    for (const r of receiver.received) {
      const b = r.body as { type: string; schema_version: number };
      const s = schemas.find((x) => x.type === b.type && x.version === b.schema_version);
      assert.ok(s, `a published schema for ${b.type} version ${b.schema_version}`);
      assert.ok(ajv.validate(s.schema, r.body), ajv.errorsText());
    }
    const history = await call(hearth, 'GET', '/v1/reverts?limit=10');
    assert.equal(history.body.data[0].id, done.body.id);

    // A revert is itself revertible.
    const again = await call(hearth, 'POST', '/v1/revert', { event: done.body.id, dry_run: false }, operator);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal((await customer(ana)).phone, '+15559999991');
  });

  test('a revert that conflicts with a newer change stops and writes nothing', async () => {
    await ingest(hearth, ctx.hdb(), [contactUpdate('hubspot', 'h-2', { phone: '+15559999992' })]);
    const bad = await eventOf('hubspot', 'h-2');
    await ingest(hearth, ctx.hdb(), [contactUpdate('hubspot', 'h-2', { phone: '+15550000022' })]);
    const ben = await customerOf('hubspot', 'h-2');
    const before = await lineageCount();
    const res = await call(hearth, 'POST', '/v1/revert', { event: bad, dry_run: false }, operator);
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'conflict');
    assert.match(res.body.error.message, /changed since by hubspot; nothing was written/);
    assert.equal(res.body.error.details.conflicts[0].field, 'phone');
    assert.equal(await lineageCount(), before);
    assert.equal((await customer(ben)).phone, '+15550000022', 'the newer value is kept');
  });

  test('everything one source wrote in a window: admin only; a window for some customers; bad input', async () => {
    const since = new Date().toISOString();
    await ingest(hearth, ctx.hdb(), [
      contactUpdate('salesforce', 's-1', { email: 'cy@example.com', given_name: 'Cy', phone: '+15550000003' }),
    ]);
    const cy = await customerOf('salesforce', 's-1');
    const body = { source: 'salesforce', since, dry_run: false };
    assert.equal((await call(hearth, 'POST', '/v1/revert', body, operator)).status, 403);
    const res = await call(hearth, 'POST', '/v1/revert', body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const row = await customer(cy);
    assert.deepEqual([row.given_name, row.phone, row.email], [null, null, null]);

    const window = await call(hearth, 'POST', '/v1/revert', { customers: [cy], since, dry_run: true });
    assert.equal(window.status, 200);
    assert.equal(window.body.selected > 0, true);

    const both = await call(hearth, 'POST', '/v1/revert', { change: 'x', event: 'y', dry_run: true });
    assert.equal(both.status, 400);
    assert.match(both.body.error.message, /exactly one/);
    assert.equal((await call(hearth, 'POST', '/v1/revert', { event: 'evt_none', dry_run: true })).status, 404);
  });

  test('hearth revert --dry-run lists the change; --help; a bad flag is one line', async () => {
    await ingest(hearth, ctx.hdb(), [contactUpdate('hubspot', 'h-1', { given_name: 'Anna' })]);
    const ev = await eventOf('hubspot', 'h-1');
    const io = captureIo('', {});
    const code = await main(['revert', '--event', ev, '--dry-run', '--db', ctx.url()], io.io);
    assert.equal(code, 0, io.err());
    assert.match(io.out(), /given_name\t"Anna" -> "Ana"/);
    assert.match(io.out(), /dry run of event .*: would revert 1 field\(s\) of 1 customer\(s\)/);
    const help = captureIo();
    assert.equal(await main(['revert', '--help'], help.io), 0);
    assert.match(help.out(), /--dry-run/);
    const bad = captureIo();
    assert.equal(await main(['revert', '--since', 'yesterday', '--source', 'x', '--db', ctx.url()], bad.io), 2);
    assert.equal(bad.err().trim().split('\n').length, 1);
    assert.match(bad.err(), /--since must be an ISO time/);
  });
});
