import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { buildOrder, sendShopifyWebhook } from '../../sim/shopify.ts';
import { startReceiver, type Receiver } from '../../sim/receiver.ts';
import { eventually, freePort } from '../../test-support/harness.ts';
import { isQuiet } from './quiet.ts';

const SECRET = 'shpss_crash_test';
const N = 150;
const MAIN = new URL('../main.ts', import.meta.url).pathname;

function startServe(config: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('hearth serving')) resolve(child);
    });
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => reject(new Error(`hearth serve exited ${code}: ${out.slice(-500)}`)));
  });
}

function exited(child: ChildProcess): Promise<unknown> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', r));
}

describeEachDialect('SIGKILL in the middle of a load', (ctx) => {
  let receiver: Receiver;
  let dir: string;
  before(async () => {
    receiver = await startReceiver();
    dir = mkdtempSync(join(tmpdir(), 'hearth-crash-'));
  });
  after(async () => {
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every accepted webhook is applied once and every correction delivered after a restart', async () => {
    const port = await freePort();
    const config = join(dir, 'hearth.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        database: ctx.url(),
        server: { host: '127.0.0.1', port },
        log: { level: 'info' },
        jobs: { base_delay_ms: 20, max_delay_ms: 200, lease_seconds: 2, poll_interval_ms: 20 },
        connectors: {
          shopify: { webhook_secret: SECRET },
          webhook: { targets: [{ name: 'loyalty', url: receiver.url, secret: 'whsec_crash_1' }] },
        },
      }),
    );
    const url = `http://127.0.0.1:${port}/webhooks/shopify`;
    const orders = Array.from({ length: N }, (_, i) =>
      buildOrder({
        order_id: 90_000 + i,
        customer_id: 80_000 + i,
        email: `crash${i}@example.com`,
        first_name: 'Kim',
        last_name: `Crash${i}`,
        address1: `${i + 1} Birch Street`,
        city: 'Austin',
        province_code: 'TX',
        zip: '78701',
      }),
    );
    const acked = new Set<number>();
    const send = async (i: number) => {
      try {
        if ((await sendShopifyWebhook(url, 'orders/create', orders[i], SECRET, `crash-${i}`)).status === 200)
          acked.add(i);
      } catch {
        /* connection refused or reset: Shopify would retry */
      }
    };

    let child = await startServe(config);
    const firstWave = Array.from({ length: N }, (_, i) => i);
    let killed = false;
    await Promise.all(
      [0, 1, 2, 3, 4].map(async (lane) => {
        for (let i = lane; i < N; i += 5) {
          if (!killed && acked.size >= N / 2) {
            killed = true;
            child.kill('SIGKILL');
          }
          await send(firstWave[i]!);
        }
      }),
    );
    assert.ok(killed, 'the process was killed mid-load');
    await exited(child);
    child = await startServe(config);
    try {
      // Shopify redelivers what was not acknowledged; we also replay some acknowledged ones.
      for (let i = 0; i < N; i++) if (!acked.has(i) || i % 10 === 0) await send(i);
      assert.equal(acked.size, N);
      const db = ctx.hdb().db;
      // Every delivery is stored (acknowledged) by now, so once inbox and jobs are quiet, read in
      // one snapshot, nothing more happens. (Reading jobs, then the inbox, in two queries raced:
      // an event applied between them left its new job pending behind a "settled" check.)
      await eventually(() => isQuiet(db), 30_000, 'all events applied and jobs settled');
      assert.equal((await db.selectFrom('customers').select('id').execute()).length, N);
      const events = await db.selectFrom('inbox_events').select(['delivery_id', 'status']).execute();
      // Each orders/create delivery is two events: the confirmed address and the order itself.
      assert.equal(events.length, 2 * N, 'one inbox row per event of each delivery id');
      assert.equal(events.filter((e) => e.delivery_id.endsWith(':order')).length, N);
      assert.ok(events.every((e) => e.status === 'applied'));
      const changes = await db
        .selectFrom('change_log')
        .select('customer_id')
        .where('field', '=', 'address_line1')
        .execute();
      assert.equal(changes.length, N, 'each correction applied exactly once');
      const jobs = await db.selectFrom('jobs').select(['status']).execute();
      assert.equal(jobs.length, N, 'one outbound job per correction');
      assert.ok(jobs.every((j) => j.status === 'done'));
      const ids = new Set(receiver.received.map((r) => String(r.headers['idempotency-key'])));
      assert.equal(ids.size, N, 'every correction reached the subscriber');
    } finally {
      child.kill('SIGTERM');
      await exited(child);
    }
  });
});
