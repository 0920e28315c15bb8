import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { captureIo } from '../../test-support/test-io.ts';
import { linkSource } from '../customers/customer-store.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { main } from '../main.ts';
import type { AuditReport } from './types.ts';

const CRM = [
  'Record ID,Email,Street Address,City,State/Region,Postal Code',
  '501,ana@work.example,14 Elm St,Chicago,IL,60614',
  '502,bo@example.com,9 Oak St,Chicago,IL,60614',
].join('\n');
// Ana orders from her personal address and has moved; nobody with that email is in the CRM.
const ORDERS = [
  'Name,Email,Created at,Shipping Address1,Shipping City,Shipping Province,Shipping Zip',
  '#1001,ana@home.example,2026-03-01 10:00:00 +0000,2200 N Lincoln Ave,Chicago,IL,60614',
  '#1002,bo@example.com,2026-03-02 10:00:00 +0000,9 Oak Street,Chicago,IL,60614',
].join('\n');

describeEachDialect("hearth audit --db: joining through Hearth's crosswalk", (ctx) => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-audit-xw-'));
  const files = {
    crm: join(dir, 'contacts.csv'),
    orders: join(dir, 'orders.csv'),
    stripe: join(dir, 'stripe.csv'),
    out: join(dir, 'report.json'),
  };
  before(async () => {
    writeFileSync(files.crm, CRM);
    writeFileSync(files.orders, ORDERS);
    // Ana pays under a third email; Stripe carries her Hearth id.
    writeFileSync(files.stripe, 'id,Email,Name,hearth_id (metadata)\ncus_S1,ana@pay.example,Ana Diaz,cus_xw_ana\n');
    const db = ctx.hdb().db;
    const t = Date.now();
    await db
      .insertInto('customers')
      .values({
        id: 'cus_xw_ana',
        given_name: 'Ana',
        family_name: 'Diaz',
        email: 'ana@work.example',
        email_normalized: 'ana@work.example',
        field_sources: '{}',
        version: 1,
        created_at: t,
        updated_at: t,
      })
      .execute();
    await linkSource(db, 'hubspot', '501', 'cus_xw_ana', { email: 'ana@work.example' }, t);
    await linkSource(db, 'shopify', '7001', 'cus_xw_ana', { email: 'ana@home.example' }, t);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const audit = async (extra: string[]) => {
    const c = captureIo();
    const code = await main(
      [
        'audit',
        '--crm',
        files.crm,
        '--crm-format',
        'hubspot',
        '--orders',
        files.orders,
        '--orders-format',
        'shopify',
        '--json',
        ...extra,
      ],
      c.io,
    );
    assert.equal(code, 0, c.err());
    return JSON.parse(c.out()) as AuditReport;
  };

  test(
    'without --db the other email is missing_in_crm; with it, ' +
      'the order joins her CRM record and shows the stale address',
    async () => {
      const plain = await audit([]);
      assert.deepEqual(
        plain.findings.filter((f) => f.kind === 'missing_in_crm').map((f) => f.email),
        ['ana@home.example'],
      );
      const linked = await audit(['--db', ctx.url()]);
      assert.equal(linked.summary.joined_by_crosswalk, 1);
      assert.equal(linked.findings.filter((f) => f.kind === 'missing_in_crm').length, 0);
      const stale = linked.findings.filter((f) => f.kind === 'stale_address');
      assert.deepEqual(
        stale.map((f) => [f.email, f.crm_id]),
        [['ana@home.example', '501']],
      );
      assert.equal(
        linked.findings.some((f) => f.email === 'bo@example.com' && f.kind === 'stale_address'),
        false,
        'Street vs St is a format difference',
      );
    },
  );

  test('with --db, a Stripe customer under another email joins the CRM record through its Hearth id', async () => {
    const plain = await audit(['--stripe', files.stripe]);
    assert.equal(plain.summary.systems?.stripe?.counts.missing_in_crm, 1);
    const linked = await audit(['--stripe', files.stripe, '--db', ctx.url()]);
    const stripe = linked.summary.systems?.stripe;
    assert.equal(stripe?.joined_by_hearth_id, 1);
    assert.equal(stripe?.counts.missing_in_crm, 0);
    assert.deepEqual(
      (linked.system_findings ?? []).filter((f) => f.kind === 'missing_in_system').map((f) => f.crm_id),
      ['502'],
    );
  });
});
