import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mock, test } from 'node:test';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { captureIo } from '../../test-support/test-io.ts';
import { insertEvents } from '../engine/inbox.ts';
import { newId } from '../ids.ts';
import { createLogger } from '../log.ts';
import { main } from '../main.ts';
import { createMetrics } from '../metrics.ts';
import { retentionSchema, runRetention, scheduleRetention } from './retention.ts';

const DAY = 86_400_000;

test('retention config: null keeps, days must be whole and positive, no periods schedules nothing', () => {
  const none = retentionSchema.parse({});
  assert.deepEqual(
    [none.inbox_payloads, none.change_log_values, none.findings, none.interval_minutes],
    [null, null, null, 60],
  );
  assert.throws(() => retentionSchema.parse({ inbox_payloads: 0 }));
  assert.throws(() => retentionSchema.parse({ findings: 1.5 }));
  assert.equal(scheduleRetention({} as never, none, { logger: createLogger('silent') }), null);
});

describeEachDialect('retention: only what is older than the period', (ctx) => {
  const db = () => ctx.hdb().db;
  const now = Date.now();

  async function seed(tag: string) {
    const event = (id: string) => ({
      delivery_id: `${tag}-${id}`,
      event: {
        type: 'contact.updated' as const,
        source: 'hubspot',
        external_id: id,
        contact: { email: `${tag}-${id}@example.com` },
        vendor_fields: {},
        origin_is_hearth: false,
        occurred_at: now,
      },
    });
    const [oldApplied] = (await insertEvents(db(), 'hubspot', [event('1')], now - 40 * DAY)).accepted;
    const [oldPending] = (await insertEvents(db(), 'hubspot', [event('2')], now - 40 * DAY)).accepted;
    const [recent] = (await insertEvents(db(), 'hubspot', [event('3')], now - 5 * DAY)).accepted;
    await db()
      .updateTable('inbox_events')
      .set({ status: 'applied' })
      .where('id', 'in', [oldApplied!, recent!])
      .execute();
    const lineage = (at: number) => ({
      id: newId('chg', at),
      customer_id: `cus_${tag}`,
      source_system: 'hubspot',
      actor: 'connector:hubspot',
      event_id: null,
      changed_at: at,
      changes: JSON.stringify([['email', 'a@example.com', `${tag}@example.com`]]),
    });
    const oldChange = lineage(now - 400 * DAY);
    const newChange = lineage(now - 10 * DAY);
    await db().insertInto('change_lineage').values([oldChange, newChange]).execute();
    const runId = newId('run', now);
    await db()
      .insertInto('reconcile_runs')
      .values({
        id: runId,
        status: 'done',
        trigger: 'cli',
        actor: 'test',
        systems: '[]',
        system: null,
        cursor: null,
        pages: 0,
        records: 0,
        matched: 0,
        unmatched: 0,
        findings: 0,
        jobs: 0,
        stats: '{}',
        error: null,
        started_at: now,
        updated_at: now,
        finished_at: now,
      })
      .execute();
    const finding = (at: number, status: 'reported' | 'open') => ({
      id: newId('drf', at),
      run_id: runId,
      system: 'hubspot',
      external_id: '1',
      customer_id: `cus_${tag}`,
      field: 'phone',
      kind: 'drift' as const,
      policy: 'report',
      status,
      canonical_value: '+15550000001',
      system_value: '+15550000002',
      detail: null,
      job_id: null,
      decided_by: null,
      decided_at: null,
      created_at: at,
      updated_at: at,
    });
    const oldReported = finding(now - 100 * DAY, 'reported');
    const oldOpen = finding(now - 100 * DAY, 'open');
    const newReported = finding(now - 1 * DAY, 'reported');
    await db().insertInto('drift_findings').values([oldReported, oldOpen, newReported]).execute();
    return { oldApplied, oldPending, recent, oldChange, newChange, oldReported, oldOpen, newReported };
  }

  test('blanks old payloads and values, deletes old settled findings, keeps the rest; then finds nothing', async () => {
    const s = await seed('r1');
    const settings = retentionSchema.parse({
      inbox_payloads: 30,
      change_log_values: 365,
      findings: 90,
      batch_size: 1,
    });
    const metrics = createMetrics();
    const logged: unknown[] = [];
    const logger = { ...createLogger('silent'), info: (o: unknown) => void logged.push(o) } as never;
    const report = await runRetention(db(), settings, now, {
      logger,
      removed: (kind, n) => metrics.retentionRemoved.inc({ kind }, n),
    });
    assert.ok(report.inbox_payloads >= 1 && report.change_log_values >= 1 && report.findings >= 1);
    const payload = async (id: string) =>
      (await db().selectFrom('inbox_events').select('payload').where('id', '=', id).executeTakeFirstOrThrow()).payload;
    assert.equal(await payload(s.oldApplied!), '{"expired":true}');
    assert.match(await payload(s.oldPending!), /r1-2@example.com/, 'not yet applied: kept');
    assert.match(await payload(s.recent!), /r1-3@example.com/, 'within the period: kept');
    const changes = async (id: string) =>
      JSON.parse(
        (await db().selectFrom('change_lineage').select('changes').where('id', '=', id).executeTakeFirstOrThrow())
          .changes,
      );
    assert.deepEqual(await changes(s.oldChange.id), [['email', null, null]]);
    assert.deepEqual(await changes(s.newChange.id), [['email', 'a@example.com', 'r1@example.com']]);
    const findings = (
      await db().selectFrom('drift_findings').select('id').where('customer_id', '=', 'cus_r1').execute()
    ).map((r) => r.id);
    assert.deepEqual(findings.sort(), [s.oldOpen.id, s.newReported.id].sort());
    const metric = await metrics.registry.getSingleMetricAsString('hearth_retention_removed_total');
    assert.match(metric, /kind="findings"} [1-9]/);
    assert.deepEqual(Object.keys((logged[0] as { retention: object }).retention), [
      'inbox_payloads',
      'change_log_values',
      'findings',
      'erasure_payloads',
    ]);
    const again = await runRetention(db(), settings, now, { logger: createLogger('silent') });
    assert.deepEqual(again, { inbox_payloads: 0, change_log_values: 0, findings: 0, erasure_payloads: 0 });
  });

  test('hearth retention run: enforces the configured periods once; null periods keep everything', async () => {
    const s = await seed('r2');
    const dir = mkdtempSync(join(tmpdir(), 'hearth-retention-'));
    const keep = join(dir, 'keep.json');
    writeFileSync(keep, JSON.stringify({ database: ctx.url() }));
    const run = async (file: string) => {
      const t = captureIo();
      const code = await main(['retention', 'run', '--config', file, '--json'], t.io);
      return { code, out: t.out(), err: t.err() };
    };
    const kept = await run(keep);
    assert.equal(kept.code, 0, kept.err);
    assert.deepEqual(JSON.parse(kept.out), {
      inbox_payloads: 0,
      change_log_values: 0,
      findings: 0,
      erasure_payloads: 0,
    });
    const cfg = join(dir, 'hearth.json');
    writeFileSync(cfg, JSON.stringify({ database: ctx.url(), governance: { retention: { change_log_values: 30 } } }));
    const ran = await run(cfg);
    assert.equal(ran.code, 0, ran.err);
    assert.ok(JSON.parse(ran.out).change_log_values >= 1);
    const changes = async (id: string) =>
      JSON.parse(
        (await db().selectFrom('change_lineage').select('changes').where('id', '=', id).executeTakeFirstOrThrow())
          .changes,
      );
    assert.deepEqual(await changes(s.oldChange.id), [['email', null, null]]);
    assert.deepEqual(await changes(s.newChange.id), [['email', 'a@example.com', 'r2@example.com']], 'within 30 days');
    const findings = await db().selectFrom('drift_findings').select('id').where('customer_id', '=', 'cus_r2').execute();
    assert.equal(findings.length, 3, 'no findings period: all kept');
  });

  test('the scheduled pass (hearth serve) runs every interval and stops on close', async () => {
    const s = await seed('r4');
    const settings = retentionSchema.parse({ findings: 90, interval_minutes: 5 });
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const passes: unknown[] = [];
      const logger = { ...createLogger('silent'), info: (o: unknown) => void passes.push(o) } as never;
      const scheduled = scheduleRetention(db(), settings, { logger })!;
      mock.timers.tick(4 * 60_000);
      assert.equal(passes.length, 0, 'not before the interval');
      mock.timers.tick(60_000);
      await scheduled.close();
      assert.equal(passes.length, 1);
      const left = await db().selectFrom('drift_findings').select('id').where('customer_id', '=', 'cus_r4').execute();
      assert.deepEqual(left.map((r) => r.id).sort(), [s.oldOpen.id, s.newReported.id].sort());
      mock.timers.tick(10 * 60_000);
      assert.equal(passes.length, 1, 'closed: no more passes');
    } finally {
      mock.timers.reset();
    }
  });
});
