import { captureIo } from '../../test-support/test-io.ts';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHubSpotSim, type HubSpotSim } from '../../sim/hubspot.ts';
import { startSalesforceSim, type SalesforceSim } from '../../sim/salesforce.ts';
import { normalizeAddress } from '../address/index.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { newId } from '../ids.ts';
import { main } from '../main.ts';

const io = (isTTY = false) => {
  const c = captureIo();
  c.io.isTTY = isTTY;
  return c;
};

const address = {
  line1: '12 Pine St',
  line2: 'Unit 3',
  city: 'Austin',
  region: 'TX',
  postal_code: '78701',
  country: 'US',
};

describeEachDialect('hearth reconcile (CLI) over HubSpot and Salesforce', (ctx) => {
  let hs: HubSpotSim;
  let sf: SalesforceSim;
  let dir: string;
  let cfg: string;
  const run = async (...args: string[]) => {
    const t = io(args.includes('--resume'));
    const code = await main(['reconcile', '--config', cfg, '--db', ctx.url(), ...args], t.io);
    return { code, out: t.out(), err: t.err() };
  };

  before(async () => {
    hs = await startHubSpotSim();
    sf = await startSalesforceSim();
    dir = mkdtempSync(join(tmpdir(), 'hearth-reconcile-'));
    cfg = join(dir, 'hearth.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        connectors: {
          hubspot: { access_token: hs.token, base_url: hs.url },
          salesforce: { instance_url: sf.url, access_token: sf.token },
        },
        writeback: { crm: 'hubspot' },
        reconcile: { page_size: 2 },
        log: { level: 'silent' },
      }),
    );
    const now = Date.now();
    for (const [i, email] of ['kim@example.com', 'lou@example.com', 'max@example.com'].entries()) {
      await ctx
        .hdb()
        .db.insertInto('customers')
        .values({
          id: newId('cus', now),
          given_name: ['Kim', 'Lou', 'Max'][i]!,
          family_name: 'Ortiz',
          email,
          email_normalized: email,
          phone: null,
          address_line1: address.line1,
          address_line2: address.line2,
          city: address.city,
          region: address.region,
          postal_code: address.postal_code,
          country: address.country,
          address_key: normalizeAddress(address).key,
          address_source: 'shopify',
          address_validated_at: now,
          field_sources: '{}',
          merged_into: null,
          version: 1,
          created_at: now,
          updated_at: now,
        })
        .execute();
    }
    hs.createContact({
      email: 'kim@example.com',
      firstname: 'Kim',
      lastname: 'Ortiz',
      address: '12 Pine St Unit 3',
      city: 'Austin',
      state: 'TX',
      zip: '78701',
      country: 'US',
    });
    hs.createContact({
      email: 'lou@example.com',
      firstname: 'Lou',
      lastname: 'Ortiz',
      address: '99 Stale Rd',
      city: 'Austin',
      state: 'TX',
      zip: '78702',
      country: 'US',
    });
    sf.createContact({
      Email: 'kim@example.com',
      FirstName: 'Kim',
      LastName: 'Ortiz',
      MailingStreet: '12 Pine Street\n#3',
      MailingCity: 'Austin',
      MailingState: 'TX',
      MailingPostalCode: '78701-1111',
      MailingCountry: 'US',
    });
    sf.createContact({
      Email: 'lou@example.com',
      FirstName: 'Lou',
      LastName: 'Ortiz',
      MailingStreet: '12 Pine St\nUnit 3',
      MailingCity: 'Austin',
      MailingState: 'TX',
      MailingPostalCode: '78701',
      MailingCountry: 'US',
    });
    sf.createContact({
      Email: 'max@example.com',
      FirstName: 'Max',
      LastName: 'Ortiz',
      MailingStreet: '1 Old Mill Ln',
      MailingCity: 'Austin',
      MailingState: 'TX',
      MailingPostalCode: '78703',
      MailingCountry: 'US',
    });
  });
  after(async () => {
    await hs.close();
    await sf.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test(
    'one run over both CRMs: drift healed only where Hearth ' + 'writes (HubSpot), queued for review in Salesforce',
    async () => {
      const r = await run('--json');
      assert.equal(r.code, 0, r.err);
      const v = JSON.parse(r.out);
      assert.deepEqual(
        [v.status, v.systems, v.records, v.matched, v.jobs],
        ['done', ['hubspot', 'salesforce'], 5, 5, 1],
      );
      const line = (system: string) => v.scorecard.find((l: any) => l.system === system && l.field === 'address');
      assert.deepEqual([line('hubspot').compared, line('hubspot').drifted, line('hubspot').format_only], [2, 1, 0]);
      assert.deepEqual(
        [line('salesforce').compared, line('salesforce').drifted, line('salesforce').format_only],
        [3, 1, 1],
      );
      const findings = await ctx
        .hdb()
        .db.selectFrom('drift_findings')
        .select(['system', 'field', 'kind', 'status'])
        .where('run_id', '=', v.id)
        .orderBy('system')
        .orderBy('kind')
        .execute();
      assert.deepEqual(
        findings.map((f) => `${f.system}/${f.field}/${f.kind}/${f.status}`),
        ['hubspot/address/drift/healing', 'salesforce/address/drift/open', 'salesforce/address/format_only/ignored'],
      );
    },
  );

  test(
    '--system limits the run; --max-pages pauses it and ' + '--resume finishes it; the table names the rates',
    async () => {
      const paused = await run('--system', 'salesforce', '--max-pages', '1');
      assert.equal(paused.code, 0, paused.err);
      const id = /^run (run_\w+): paused/m.exec(paused.out)?.[1];
      assert.ok(id, paused.out);
      assert.match(paused.out, /resume with: hearth reconcile --resume run_/);
      const resumed = await run('--resume', id);
      assert.equal(resumed.code, 0, resumed.err);
      assert.match(resumed.out, new RegExp(`run ${id}: done  records=3 matched=3`));
      assert.match(resumed.out, /salesforce\taddress\t3\t1\t1\t33\.3%/);
      assert.match(resumed.err, /\rreconciling done: 3 records, 2 findings\n$/, 'progress on a terminal');
    },
  );

  test('bad input is one line and exit 2; a CRM that fails ends the run as failed (exit 1)', async () => {
    const bogus = await run('--system', 'zoho');
    assert.equal(bogus.code, 2);
    assert.match(bogus.err, /^hearth reconcile: cannot reconcile zoho/);
    assert.equal((await run('--max-pages', '0')).code, 2);
    hs.faults.set({ server_error_next: 50 });
    const failed = await run('--system', 'hubspot');
    hs.faults.set({});
    assert.equal(failed.code, 1);
    assert.match(failed.out, /: failed .*\nerror: HubSpot 503/);
  });
});
