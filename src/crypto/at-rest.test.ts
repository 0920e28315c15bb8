import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { call, contactUpdate, ingest } from '../../test-support/governance.ts';
import { startTestHearth } from '../../test-support/harness.ts';
import { SIGNED_CONNECTORS } from '../../test-support/signers.ts';
import { captureIo } from '../../test-support/test-io.ts';
import { loadCrosswalk } from '../audit/crosswalk.ts';
import { main } from '../main.ts';
import { openDatabase } from '../db/database.ts';
import type { Hearth } from '../runtime.ts';
import { AT_REST } from './at-rest.ts';
import { securitySchema } from './data-keys.ts';
import { secureDatabase, verifyDataKeys } from './key-check.ts';
import { createLogger } from '../log.ts';
import { startBackgroundRotation } from './background.ts';
import { dataKeyStatus, retireUnusedKeys, ROTATED, rotateDataKey } from './rotate.ts';

const key = () => randomBytes(32).toString('base64');
const K1 = key();
const K2 = key();
const K4 = key();
const LOOKUP = key();
const ANA = { email: 'ana.secret@example.com', given_name: 'Anastasia', family_name: 'Quill', phone: '+15550001234' };

test('rotation covers exactly the columns the plugin encrypts', () => {
  const plugin = Object.entries(AT_REST).flatMap(([t, cols]) => Object.entries(cols).map(([c, k]) => `${t}.${c}:${k}`));
  assert.deepEqual(ROTATED.map((r) => `${r.table}.${r.column}:${r.kind}`).sort(), plugin.sort());
});

test('a database before migration 0085: unchanged with encryption off, refused with a key', async () => {
  const hdb = openDatabase('sqlite::memory:');
  try {
    assert.equal(await verifyDataKeys(hdb.db, securitySchema.parse({}), 0), null);
    const on = securitySchema.parse({ data_keys: { k1: K1 }, current_key: 'k1', lookup_key: LOOKUP });
    await assert.rejects(() => verifyDataKeys(hdb.db, on, 0), /data keys cannot be checked .*run hearth migrate/);
  } finally {
    await hdb.close();
  }
});

describeEachDialect('encryption at rest', (ctx) => {
  let hearth: Hearth;
  const raw = () => ctx.hdb().db; // the fixture's own handle: stored values as they are
  const security = { data_keys: { k1: K1 }, current_key: 'k1', lookup_key: LOOKUP };
  const linkOf = (system: string, ext: string) =>
    raw()
      .selectFrom('source_links')
      .selectAll()
      .where('system', '=', system)
      .where('external_id', '=', ext)
      .executeTakeFirstOrThrow();

  before(async () => {
    ({ hearth } = await startTestHearth(ctx, {
      connectors: SIGNED_CONNECTORS,
      security,
      governance: {
        quality: { rules: [{ name: 'us-phone', field: 'phone', check: 'format', pattern: '\\+1\\d{10}' }] },
      },
    }));
  });
  after(() => hearth.close());

  test('values at rest are not clear text; reads (API, change log, revert) return clear values', async () => {
    await ingest(hearth, hearth.hdb, [
      contactUpdate('hubspot', 'h-1', {
        ...ANA,
        address: { line1: '12 Hidden Lane', city: 'Ghent', postal_code: '9000' },
      }),
    ]);
    await ingest(hearth, hearth.hdb, [contactUpdate('hubspot', 'h-1', { phone: '+15550009999' })]);
    const link = await linkOf('hubspot', 'h-1');
    const inbox = await raw().selectFrom('inbox_events').select('payload').execute();
    const lineage = await raw().selectFrom('change_lineage').select('changes').execute();
    const stored = [link.snapshot!, ...inbox.map((r) => r.payload), ...lineage.map((r) => r.changes)];
    assert.ok(link.snapshot!.startsWith('enc1:k1:'));
    for (const v of stored)
      for (const secret of ['ana.secret', 'Anastasia', 'Quill', '5550001234', 'Hidden Lane'])
        assert.ok(!v.includes(secret), `"${secret}" in clear at rest: ${v.slice(0, 80)}`);
    // The change_log view still expands the lineage in SQL: field names stay readable there.
    const fields = await raw().selectFrom('change_log').select(['field', 'new_value']).execute();
    assert.ok(fields.some((f) => f.field === 'email' && f.new_value!.startsWith('enc1:k1:')));

    const detail = await call(hearth, 'GET', `/v1/customers/${link.customer_id}`);
    assert.equal(detail.status, 200);
    assert.equal(detail.body.email, ANA.email);
    const byField = (f: string) => detail.body.changes.filter((c: { field: string }) => c.field === f);
    assert.equal(byField('email')[0].new_value, ANA.email);
    assert.deepEqual(
      byField('phone')
        .map((c: { new_value: string }) => c.new_value)
        .sort(),
      ['+15550001234', '+15550009999'],
    );
    assert.equal(detail.body.source_records[0].snapshot.email, ANA.email);
    const events = await call(hearth, 'GET', '/v1/events?limit=5');
    assert.equal(events.status, 200);
    assert.ok(JSON.stringify(events.body).includes(ANA.email), 'inbox payloads read back in clear');

    const bad = (await hearth.hdb.db.selectFrom('inbox_events').select('id').orderBy('id', 'desc').execute())[0]!.id;
    const dry = await call(hearth, 'POST', '/v1/revert', { event: bad, dry_run: true });
    assert.equal(dry.status, 200);
    assert.deepEqual(
      dry.body.steps.map((s: { field: string; from: string; to: string }) => [s.field, s.from, s.to]),
      [['phone', '+15550009999', '+15550001234']],
    );

    // A value held back by a quality rule is stored encrypted too, and listed in clear.
    await ingest(hearth, hearth.hdb, [contactUpdate('hubspot', 'h-1', { phone: 'call me at home' })]);
    const held = await raw().selectFrom('quality_reviews').selectAll().executeTakeFirstOrThrow();
    assert.ok(held.new_value!.startsWith('enc1:k1:') && held.old_value!.startsWith('enc1:k1:'));
    const reviews = await call(hearth, 'GET', '/v1/quality/reviews?status=open&limit=10');
    assert.deepEqual(
      [reviews.body.data[0].old_value, reviews.body.data[0].new_value],
      ['+15550009999', 'call me at home'],
    );
  });

  test('drift findings keep their values and evidence encrypted; reads and updates see clear values', async () => {
    const customer = (await linkOf('hubspot', 'h-1')).customer_id;
    await hearth.hdb.db
      .insertInto('reconcile_runs')
      .values({
        id: 'rcn_enc',
        status: 'done',
        trigger: 'api',
        actor: 'test',
        systems: '["hubspot"]',
        system: null,
        cursor: null,
        pages: 0,
        records: 0,
        matched: 0,
        unmatched: 0,
        findings: 1,
        jobs: 0,
        stats: '{}',
        error: null,
        started_at: 1,
        updated_at: 1,
        finished_at: 1,
      })
      .execute();
    const finding = {
      id: 'drf_enc_1',
      run_id: 'rcn_enc',
      system: 'hubspot',
      external_id: 'h-1',
      customer_id: customer,
      field: 'phone',
      kind: 'drift' as const,
      policy: 'review',
      status: 'open' as const,
      canonical_value: '+15550001234',
      system_value: '+15550004321',
      detail: JSON.stringify({ canonical_e164: '+15550001234' }),
      job_id: null,
      decided_by: null,
      decided_at: null,
      created_at: 1,
      updated_at: 1,
    };
    await hearth.hdb.db.insertInto('drift_findings').values(finding).execute();
    await hearth.hdb.db
      .updateTable('drift_findings')
      .set({ status: 'dismissed' })
      .where('id', '=', finding.id)
      .execute();
    const stored = await raw()
      .selectFrom('drift_findings')
      .selectAll()
      .where('id', '=', finding.id)
      .executeTakeFirstOrThrow();
    for (const c of ['canonical_value', 'system_value', 'detail'] as const)
      assert.ok(stored[c]!.startsWith('enc1:k1:'));
    const read = await hearth.hdb.db.selectFrom('drift_findings').selectAll().where('id', '=', finding.id).execute();
    assert.deepEqual(read, [{ ...finding, status: 'dismissed' }]);
  });

  test('matching by e-mail still works with encryption on', async () => {
    await ingest(hearth, hearth.hdb, [
      contactUpdate('salesforce', 's-1', { email: ANA.email, given_name: 'Anastasia' }),
    ]);
    const a = await linkOf('hubspot', 'h-1');
    const b = await linkOf('salesforce', 's-1');
    assert.equal(b.customer_id, a.customer_id);
    const found = await call(hearth, 'GET', `/v1/customers?email=${encodeURIComponent(ANA.email)}`);
    assert.deepEqual(
      found.body.data.map((c: { id: string }) => c.id),
      [a.customer_id],
    );
  });

  test('a clear value that looks like ciphertext (typed into a CRM) is read back as typed', async () => {
    const odd = 'enc1:k1:not:ciphertext';
    await ingest(hearth, hearth.hdb, [contactUpdate('hubspot', 'h-7', { email: 'odd@example.com', given_name: odd })]);
    const link = await linkOf('hubspot', 'h-7');
    const detail = await call(hearth, 'GET', `/v1/customers/${link.customer_id}`);
    assert.equal(detail.status, 200);
    assert.equal(detail.body.given_name, odd);
    assert.equal(detail.body.changes.find((c: { field: string }) => c.field === 'given_name').new_value, odd);
    assert.equal(detail.body.source_records[0].snapshot.firstname, odd);
  });

  test('hearth audit --db reads the crosswalk through the data keys, and says so without them', async () => {
    const cross = await loadCrosswalk(ctx.url(), 'hubspot', securitySchema.parse(security));
    assert.equal(cross.get(ANA.email), 'h-1');
    await assert.rejects(() => loadCrosswalk(ctx.url(), 'hubspot'), /source snapshots are encrypted: pass --config/);
  });

  test('rotation re-encrypts everything under the new key and is reported by keys status', async () => {
    const rotated = securitySchema.parse({ data_keys: { k1: K1, k2: K2 }, current_key: 'k2', lookup_key: LOOKUP });
    const s = await secureDatabase(ctx.hdb(), rotated);
    const before = await dataKeyStatus(s.raw, ['k1', 'k2']);
    assert.ok(before.totals.k1! > 0);
    assert.equal(before.totals.k2, 0);
    const progress: number[] = [];
    const rewritten = await rotateDataKey(s.raw, s.cipher!, { batch: 2, onBatch: (p) => progress.push(p.scanned) });
    assert.ok(progress.length > 3, 'several batches');
    assert.equal(
      Object.values(rewritten).reduce((a, b) => a + b, 0),
      before.totals.k1,
    );
    const afterStatus = await dataKeyStatus(s.raw, ['k1', 'k2']);
    assert.equal(afterStatus.totals.k1, 0);
    assert.equal(afterStatus.totals.clear, 0);
    assert.equal(afterStatus.totals.k2, before.totals.k1);
    assert.ok((await linkOf('hubspot', 'h-1')).snapshot!.startsWith('enc1:k2:'));
    // Reads through the rotated handle are still clear; a second pass has nothing left to do.
    const rows = await s.db.selectFrom('change_log').select('new_value').where('field', '=', 'email').execute();
    assert.ok(rows.some((r) => r.new_value === ANA.email));
    assert.ok(Object.values(await rotateDataKey(s.raw, s.cipher!)).every((n) => n === 0));
    assert.deepEqual(await retireUnusedKeys(s.raw, s.cipher!), ['k1']);
    // k1 may now leave the config: the start-up check no longer asks for it.
    const k2only = securitySchema.parse({ data_keys: { k2: K2 }, current_key: 'k2', lookup_key: LOOKUP });
    assert.ok(await verifyDataKeys(raw(), k2only, Date.now()));
  });

  test('a wrong key, a changed lookup key, a missing key, or no key for an encrypted database: refused', async () => {
    const wrong = { data_keys: { k2: key() }, current_key: 'k2', lookup_key: LOOKUP };
    await assert.rejects(
      () => startTestHearth(ctx, { security: wrong }),
      /data key "k2" is not the key .*key check failed/,
    );
    const lookup = securitySchema.parse({ data_keys: { k2: K2 }, current_key: 'k2', lookup_key: key() });
    await assert.rejects(() => verifyDataKeys(raw(), lookup, 0), /lookup_key is not the key/);
    const other = securitySchema.parse({ data_keys: { k3: key() }, current_key: 'k3', lookup_key: LOOKUP });
    await assert.rejects(() => verifyDataKeys(raw(), other, 0), /data key "k2", which is not configured/);
    await assert.rejects(() => verifyDataKeys(raw(), securitySchema.parse({}), 0), /current_key is not set/);
    // Nothing was written by the refused starts: no check value for k3.
    const ids = (await raw().selectFrom('data_keys').select('key_id').execute()).map((r) => r.key_id).sort();
    assert.deepEqual(ids, ['#lookup', 'k2']);
  });

  test('hearth keys status and rotate-data-key on the command line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-keys-'));
    try {
      const file = join(dir, 'hearth.yaml');
      writeFileSync(
        file,
        'security:\n  data_keys:\n    k2: ${K2}\n    k4: ${K4}\n  current_key: k4\n  lookup_key: ${LOOKUP}\n',
      );
      const env = { K2, K4, LOOKUP };
      const rot = captureIo('', env);
      assert.equal(
        await main(['keys', 'rotate-data-key', '--config', file, '--db', ctx.url(), '--batch', '3'], rot.io),
        0,
      );
      assert.match(rot.err(), /rotating to k4: change_lineage \d+ rows scanned, \d+ re-encrypted/);
      assert.match(rot.out(), /no values left under k2/);
      const st = captureIo('', env);
      assert.equal(await main(['keys', 'status', '--config', file, '--db', ctx.url(), '--json'], st.io), 0);
      const status = JSON.parse(st.out());
      assert.equal(status.current_key, 'k4');
      assert.equal(status.totals.k2, 0);
      assert.equal(status.totals.clear, 0);
      assert.ok(status.totals.k4 > 0);
      const bad = captureIo('', env);
      assert.equal(await main(['keys', 'rotate-data-key', '--db', ctx.url(), '--batch', '0'], bad.io), 2);
      assert.match(bad.err(), /--batch must be/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('inside serve: an unfinished rotation continues in the background and retires the old key', async () => {
    const next = securitySchema.parse({ data_keys: { k4: K4, k5: key() }, current_key: 'k5', lookup_key: LOOKUP });
    const s = await secureDatabase(ctx.hdb(), next);
    const bg = startBackgroundRotation(s.raw, s.cipher!, createLogger('silent'), { batch: 2, pause_ms: 1 });
    await bg.done;
    const status = await dataKeyStatus(s.raw, ['k4', 'k5']);
    assert.equal(status.totals.k4, 0);
    assert.ok(status.totals.k5! > 0);
    const ids = (await raw().selectFrom('data_keys').select('key_id').execute()).map((r) => r.key_id).sort();
    assert.deepEqual(ids, ['#lookup', 'k5']);
    // Nothing left to rotate: a second start does nothing.
    const again = startBackgroundRotation(s.raw, s.cipher!, createLogger('silent'));
    await again.stop();
    assert.deepEqual((await dataKeyStatus(s.raw, [])).totals, { k5: status.totals.k5, clear: 0 });
  });
});

describeEachDialect('encryption off', (ctx) => {
  let hearth: Hearth;
  before(async () => {
    ({ hearth } = await startTestHearth(ctx, { connectors: SIGNED_CONNECTORS }));
  });
  after(() => hearth.close());

  test('values are stored as before, the database handle is untouched and no key check is recorded', async () => {
    assert.equal(hearth.hdb.db, ctx.hdb().db, 'no plugin installed');
    await ingest(hearth, hearth.hdb, [contactUpdate('hubspot', 'h-9', ANA)]);
    const link = await ctx
      .hdb()
      .db.selectFrom('source_links')
      .select('snapshot')
      .where('external_id', '=', 'h-9')
      .executeTakeFirstOrThrow();
    assert.equal(JSON.parse(link.snapshot!).email, ANA.email);
    const lineage = await ctx
      .hdb()
      .db.selectFrom('change_log')
      .select('new_value')
      .where('field', '=', 'email')
      .execute();
    assert.deepEqual(
      lineage.map((r) => r.new_value),
      [ANA.email],
    );
    assert.equal((await ctx.hdb().db.selectFrom('data_keys').select('key_id').execute()).length, 0);
  });
});
