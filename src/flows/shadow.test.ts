import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startReceiver, type Receiver } from '../../sim/receiver.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { call, contactUpdate, ingest, keyOf } from '../../test-support/governance.ts';
import { eventually, startTestHearth } from '../../test-support/harness.ts';
import { SIGNED_CONNECTORS } from '../../test-support/signers.ts';
import { insertEvents } from '../engine/inbox.ts';
import { createFlagReader, setFlag } from '../governance/flag-store.ts';
import { captureIo } from '../../test-support/test-io.ts';
import { main } from '../main.ts';
import type { Hearth } from '../runtime.ts';

const address = (line1: string) => ({ line1, city: 'Springfield', region: 'IL', postal_code: '62701', country: 'US' });

describeEachDialect('governance: runtime flags and shadow mode', (ctx) => {
  let hearth: Hearth;
  let receiver: Receiver;
  const db = () => ctx.hdb().db;
  const posts = () => receiver.received.length;

  before(async () => {
    receiver = await startReceiver();
    ({ hearth } = await startTestHearth(ctx, {
      // Data minimisation: the loyalty subscriber may receive addresses and phones, not names or e-mail.
      governance: { minimisation: { webhook: ['address', 'phone'] } },
      connectors: {
        ...SIGNED_CONNECTORS,
        webhook: {
          targets: [
            {
              name: 'loyalty',
              url: receiver.url,
              secret: 'whsec_gov2',
              events: ['address.corrected', 'customer.updated'],
            },
          ],
        },
      },
    }));
  });
  after(async () => {
    await hearth.close();
    await receiver.close();
  });

  test('flags: admin sets them, others may not, bad names and values are 4xx, every change is audited', async () => {
    const readonly = await keyOf(hearth, 'readonly');
    const operator = await keyOf(hearth, 'operator');
    const list = await call(hearth, 'GET', '/v1/flags', undefined, readonly);
    assert.equal(list.status, 200);
    const wb = list.body.data.find((f: { name: string }) => f.name === 'writeback.webhook');
    assert.deepEqual([wb.value, wb.default, wb.values], ['on', 'on', ['on', 'off', 'shadow']]);
    assert.equal((await call(hearth, 'PUT', '/v1/flags/writeback.webhook', { value: 'off' }, operator)).status, 403);
    assert.equal((await call(hearth, 'PUT', '/v1/flags/writeback.nosuch', { value: 'off' })).status, 404);
    const bad = await call(hearth, 'PUT', '/v1/flags/writeback.webhook', { value: 'maybe' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /takes on \| off \| shadow/);
    const ok = await call(hearth, 'PUT', '/v1/flags/identity.auto_link', { value: 'off', reason: 'trial' });
    assert.deepEqual(ok.body, { name: 'identity.auto_link', value: 'off', changed: true, released: null });
    await call(hearth, 'PUT', '/v1/flags/identity.auto_link', { value: 'on' });
    const audit = await call(hearth, 'GET', '/v1/flags/changes?limit=10', undefined, readonly);
    assert.deepEqual(
      audit.body.data
        .slice(0, 2)
        .map((c: { from: string | null; to: string; actor: string }) => [c.from, c.to, c.actor]),
      [
        ['off', 'on', 'bootstrap'],
        [null, 'off', 'bootstrap'],
      ],
    );
  });

  test('a flag change is seen by the next read of every reader (a cheap version check)', async () => {
    const reader = createFlagReader(db());
    const first = await reader.current();
    assert.equal(first.value('reconcile.heal'), 'on');
    await db()
      .transaction()
      .execute((trx) => setFlag(trx, 'reconcile.heal', 'off', 'test', Date.now()));
    const next = await reader.current();
    assert.equal(next.version, first.version + 1);
    assert.equal(next.value('reconcile.heal'), 'off');
    assert.equal(await reader.current(), next, 'unchanged version: the snapshot is reused');
  });

  test('shadow: recorded, not sent; the report counts them; leaving shadow sends only the newest', async () => {
    const set = await call(hearth, 'PUT', '/v1/flags/writeback.webhook', { value: 'shadow' });
    assert.equal(set.status, 200);
    const sentBefore = posts();
    await ingest(hearth, ctx.hdb(), [
      contactUpdate('hubspot', 'sh-1', { email: 'sh1@example.com', address: address('1 Elm Street') }),
      contactUpdate('hubspot', 'sh-2', { email: 'sh2@example.com', address: address('2 Elm Street') }),
      contactUpdate('hubspot', 'sh-3', { email: 'sh3@example.com', address: address('3 Elm Street') }),
    ]);
    await ingest(hearth, ctx.hdb(), [contactUpdate('hubspot', 'sh-1', { phone: '+15551110001' })]);
    await eventually(
      async () => (await db().selectFrom('jobs').select('id').where('status', '=', 'shadow').execute()).length >= 4,
      10_000,
      'jobs held in shadow',
    );
    assert.equal(posts(), sentBefore, 'nothing was sent in shadow mode');

    const report = await call(hearth, 'GET', '/v1/shadow/report?connector=webhook');
    assert.equal(report.status, 200);
    const loyalty = report.body.data.find((r: { target: string }) => r.target === 'webhook:loyalty');
    assert.equal(loyalty.contacts, 3);
    assert.equal(loyalty.writes, 4);
    assert.ok(loyalty.lines.includes('3 contacts would get a new address'), loyalty.lines.join('; '));
    assert.ok(loyalty.lines.includes('1 contact would change phone'), loyalty.lines.join('; '));
    const writes = await call(hearth, 'GET', '/v1/shadow/writes?connector=webhook&limit=10');
    assert.equal(writes.body.data.length, 4);
    assert.equal(writes.body.data[0].payload.target, 'loyalty');
    const sent = writes.body.data[0].payload.event.data.customer;
    assert.deepEqual([sent.email, sent.address.line1], [null, '1 Elm Street'], 'minimised: no e-mail leaves');

    const off = await call(hearth, 'PUT', '/v1/flags/writeback.webhook', { value: 'on' });
    assert.deepEqual(off.body.released, { sent: 3, dropped: 1 });
    await eventually(async () => posts() >= sentBefore + 3, 10_000, 'the newest held writes were sent');
    await eventually(
      async () =>
        (await db().selectFrom('jobs').select('id').where('status', 'in', ['pending', 'running']).execute()).length ===
        0,
      10_000,
      'outbox drained',
    );
    assert.equal(posts(), sentBefore + 3, 'one write per contact, no burst of stale ones');
    const again = await call(hearth, 'GET', '/v1/shadow/report');
    assert.deepEqual(again.body.data, []);
  });

  test('per flow: one flow of a connector shadowed while the connector is on; inherit releases it', async () => {
    const set = await call(hearth, 'PUT', '/v1/flags/writeback.webhook.events', { value: 'shadow' });
    assert.equal(set.status, 200);
    assert.equal((await call(hearth, 'PUT', '/v1/flags/writeback.webhook.nosuch', { value: 'shadow' })).status, 404);
    const sentBefore = posts();
    await ingest(hearth, ctx.hdb(), [
      contactUpdate('hubspot', 'pf-1', { email: 'pf1@example.com', address: address('7 Oak Street') }),
    ]);
    await eventually(
      async () =>
        (
          await db()
            .selectFrom('jobs')
            .select('id')
            .where('status', '=', 'shadow')
            .where('kind', '=', 'webhook.deliver')
            .execute()
        ).length >= 1,
      10_000,
      'the events flow held in shadow',
    );
    assert.equal(posts(), sentBefore, 'the shadowed flow sent nothing');
    const back = await call(hearth, 'PUT', '/v1/flags/writeback.webhook.events', { value: 'inherit' });
    assert.deepEqual(back.body.released, { sent: 1, dropped: 0 });
    await eventually(async () => posts() === sentBefore + 1, 10_000, 'released once the flow follows the connector');
  });

  test('write-back off holds jobs queued until it is on again', async () => {
    await call(hearth, 'PUT', '/v1/flags/writeback.webhook', { value: 'off' });
    const sentBefore = posts();
    const now = Date.now();
    await db()
      .transaction()
      .execute((trx) =>
        insertEvents(
          trx,
          'hubspot',
          [{ delivery_id: `hold-${now}`, event: contactUpdate('hubspot', 'sh-2', { phone: '+15551110002' }) }],
          now,
        ),
      );
    hearth.workers?.wake();
    await eventually(
      async () => (await db().selectFrom('jobs').select('id').where('status', '=', 'pending').execute()).length > 0,
      10_000,
      'a job queued',
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(posts(), sentBefore, 'held while off');
    await call(hearth, 'PUT', '/v1/flags/writeback.webhook', { value: 'on' });
    await eventually(async () => posts() > sentBefore, 10_000, 'sent once on');
  });

  test('hearth flags set|list|history and hearth shadow report; a bad value is one line', async () => {
    const run = async (...argv: string[]) => {
      const t = captureIo();
      const code = await main([...argv, '--db', ctx.url()], t.io);
      return { code, out: t.out(), err: t.err() };
    };
    const set = await run('flags', 'set', 'households.pooling', 'off', '--reason', 'cli test');
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /households\.pooling: \(default\) -> off/);
    assert.match((await run('flags', 'list')).out, /households\.pooling\toff\t\(on\|off\)/);
    assert.match((await run('flags', 'history')).out, /households\.pooling\t\(default\) -> off\tcli/);
    const bad = await run('flags', 'set', 'households.pooling', 'maybe');
    assert.equal(bad.code, 2);
    assert.equal(bad.err.trim().split('\n').length, 1);
    assert.match(bad.err, /takes on \| off, not maybe/);
    const report = await run('shadow', 'report');
    assert.equal(report.code, 0, report.err);
    assert.match(report.out, /no writes held in shadow mode/);
    await call(hearth, 'PUT', '/v1/flags/households.pooling', { value: 'on' });
  });
});
