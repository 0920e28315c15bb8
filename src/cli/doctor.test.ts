import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSalesforceSim, type SalesforceSim } from '../../sim/salesforce.ts';
import { startZohoSim, type ZohoSim } from '../../sim/zoho.ts';
import { captureIo } from '../../test-support/test-io.ts';
import { main } from '../main.ts';

const GRANT = { client_id: 'app-1', client_secret: 'shh-secret', refresh_token: 'rt-1' };

test('hearth --version prints the package version and the Node version', async () => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const cap = captureIo();
  assert.equal(await main(['--version'], cap.io), 0);
  assert.equal(cap.out(), `hearth ${version} (node ${process.versions.node})\n`);
});

describe('hearth doctor against the simulators', () => {
  let sf: SalesforceSim;
  let zoho: ZohoSim;
  let dir: string;
  before(async () => {
    sf = await startSalesforceSim({ oauth: GRANT });
    zoho = await startZohoSim({ oauth: { ...GRANT } });
    dir = mkdtempSync(join(tmpdir(), 'hearth-doctor-'));
  });
  after(async () => {
    await Promise.all([sf.close(), zoho.close()]);
  });

  const config = (zohoGrant: object) => {
    const file = join(dir, `c-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        database: `sqlite:${join(dir, 'h.db')}`,
        connectors: {
          salesforce: { instance_url: sf.url, login_url: sf.url, oauth: GRANT },
          zoho: { base_url: zoho.url, oauth: zohoGrant },
        },
      }),
    );
    return file;
  };

  test('prints a table per connector and check; exits 0 when nothing fails', async () => {
    const cap = captureIo();
    const code = await main(['doctor', '--config', config(GRANT)], cap.io);
    const lines = cap.out().trim().split('\n');
    assert.match(lines[0]!, /^CONNECTOR\s+CHECK\s+STATUS\s+DETAIL\s+FIX$/);
    assert.ok(lines.some((l) => /^salesforce\s+credentials\s+OK/.test(l)));
    assert.ok(lines.some((l) => /^salesforce\s+webhooks\s+WARN\s+no real-time/.test(l)));
    assert.ok(lines.some((l) => /^zoho\s+credentials\s+OK/.test(l)));
    assert.ok(lines.some((l) => /^zoho\s+clock\s+OK/.test(l)));
    assert.equal(code, 0, cap.out());
  });

  test('a refused grant is a failed credentials check with the fix; exit 1; --json', async () => {
    const cap = captureIo();
    const code = await main(['doctor', '--json', '--config', config({ ...GRANT, refresh_token: 'nope' })], cap.io);
    assert.equal(code, 1);
    const report = JSON.parse(cap.out());
    assert.equal(report.ok, false);
    const z = report.checks.find((c: any) => c.connector === 'zoho');
    assert.equal(z.check, 'credentials');
    assert.equal(z.status, 'fail');
    assert.match(z.detail, /invalid_grant/);
    assert.match(z.fix, /new grant/);
    assert.doesNotMatch(cap.out(), /shh-secret/);
  });
});
