import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startHubSpotSim, type HubSpotSim } from '../../../sim/hubspot.ts';
import { describeEachDialect } from '../../../test-support/dialects.ts';
import { createDataCipher } from '../../crypto/data-keys.ts';
import { openDatabase, type HearthDb } from '../../db/database.ts';
import { createLogger } from '../../log.ts';
import type { Connector } from '../../canonical/types.ts';
import { deliverDueJobs } from '../../engine/deliver.ts';
import { enqueueJobs, listJobs } from '../../engine/jobs.ts';
import { createHubSpotConnector } from '../hubspot/index.ts';
import { createCredential, type Credential, type CredentialSpec } from './credentials.ts';
import { createTokenStore, type TokenStore } from './credentials-store.ts';

const GRANT = { client_id: 'app-1', client_secret: 'shh-secret', refresh_token: 'rt-original' };
const cipher = createDataCipher({
  data_keys: { k1: randomBytes(32).toString('hex') },
  current_key: 'k1',
  lookup_key: randomBytes(32).toString('hex'),
});

describeEachDialect('connector tokens shared across processes', (ctx) => {
  let sim: HubSpotSim;
  // A second connection to the same database: what another Hearth process would open.
  let other: HearthDb;
  let n = 0;
  before(async () => {
    sim = await startHubSpotSim({ oauth: { ...GRANT, ttl_s: 1800 } });
    other = openDatabase(ctx.url());
  });
  after(async () => {
    await other.close();
    await sim.close();
  });

  /** Each test its own connector name: its own shared row. */
  const twoProcesses = (o: { keep: boolean; grant?: typeof GRANT; logger?: ReturnType<typeof createLogger> }) => {
    const connector = `hubspot-${++n}`;
    const spec = (g: typeof GRANT): CredentialSpec => ({
      kind: 'refresh_token',
      token_url: `${sim.url}/oauth/v1/token`,
      grant: g,
    });
    const make = (hdb: HearthDb, g = o.grant ?? GRANT): Credential => {
      const store: TokenStore = createTokenStore(hdb, o.keep ? cipher : null);
      return createCredential(spec(g), { connector, store, poll_ms: 0, logger: o.logger });
    };
    return { connector, a: make(ctx.hdb()), b: make(other), make };
  };

  test('two processes renewing at once make exactly one token request; the stored token is encrypted', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (s: string) => void lines.push(s) });
    const { connector, a, b } = twoProcesses({ keep: true, logger });
    const before = sim.oauth!.grants;
    // A slow token endpoint: the second process is certainly waiting while the first one asks.
    sim.faults.set({ slow_ms: 150 });
    const started = performance.now();
    const tokens = await Promise.all([a.token(), b.token(), a.token(), b.token()]).finally(() => sim.faults.set({}));
    assert.ok(performance.now() - started < 2000, 'the waiting process did not ask in turn');
    assert.equal(sim.oauth!.grants - before, 1, 'one token request for both processes');
    assert.equal(new Set(tokens).size, 1, 'both use the same token');
    assert.ok(sim.oauth!.valid(tokens[0]));
    const row = await ctx
      .hdb()
      .db.selectFrom('connector_tokens')
      .selectAll()
      .where('connector', '=', connector)
      .executeTakeFirstOrThrow();
    assert.match(row.access_token!, /^enc1:k1:/);
    assert.ok(!row.access_token!.includes(tokens[0]!), 'never stored in clear');
    assert.equal(row.state, 'ok');
    assert.equal(Number(row.version), 1);
    assert.doesNotMatch(lines.join(''), /sim-at-|rt-original|shh-secret/, 'no token or secret in the log');
  });

  test('a 401 in one process: the other, refused the same token, takes the renewed one without a request', async () => {
    const { a, b } = twoProcesses({ keep: true });
    const first = await a.token();
    assert.equal(await b.token(), first);
    const before = sim.oauth!.grants;
    sim.oauth!.expireAll();
    const renewed = await a.renew(first);
    assert.equal(await b.renew(first), renewed);
    assert.equal(sim.oauth!.grants - before, 1);
  });

  test('without a data key the token stays in memory: each process asks for its own, the row holds none', async () => {
    const { connector, a, b } = twoProcesses({ keep: false });
    const before = sim.oauth!.grants;
    const [ta, tb] = await Promise.all([a.token(), b.token()]);
    assert.notEqual(ta, tb);
    assert.equal(sim.oauth!.grants - before, 2);
    const row = await other.db
      .selectFrom('connector_tokens')
      .selectAll()
      .where('connector', '=', connector)
      .executeTakeFirstOrThrow();
    assert.equal(row.access_token, null);
    assert.equal(row.state, 'ok');
  });

  test('a revoked grant seen by one process pauses the other; a new grant in one resumes both', async () => {
    const s = await startHubSpotSim({ oauth: { ...GRANT, ttl_s: 1800 } });
    try {
      const connector = `hubspot-${++n}`;
      const make = (hdb: HearthDb, g: typeof GRANT) =>
        createCredential(
          { kind: 'refresh_token', token_url: `${s.url}/oauth/v1/token`, grant: g },
          { connector, store: createTokenStore(hdb, cipher), poll_ms: 0 },
        );
      const a = make(ctx.hdb(), GRANT);
      const b = make(other, GRANT);
      const first = await a.token();
      assert.equal(await b.token(), first);
      s.oauth!.revoke();
      await assert.rejects(a.renew(first), (e: any) => e.details.kind === 'auth');
      assert.equal(a.status().state, 'needs_reauth');
      const grants = s.oauth!.grants;
      b.usable();
      await b.settled();
      assert.equal(b.usable(), false, 'the other process pauses its jobs too');
      assert.equal(b.status().state, 'needs_reauth');
      await assert.rejects(b.token(), (e: any) => e.details.kind === 'auth');
      assert.equal(s.oauth!.grants, grants, 'no token request from the paused process');

      // The operator re-consents; a process restarted with the new refresh token renews ...
      s.oauth!.regrant('rt-new');
      const c = make(other, { ...GRANT, refresh_token: 'rt-new' });
      const fresh = await c.token();
      assert.ok(s.oauth!.valid(fresh));
      // ... and the processes still running take its token and resume.
      for (const p of [a, b]) {
        p.usable();
        await p.settled();
        assert.equal(p.usable(), true);
        assert.equal(await p.token(), fresh);
      }
      assert.equal(s.oauth!.grants, grants + 1);
    } finally {
      await s.close();
    }
  });

  test('jobs wait in every process while the grant is refused, and are delivered once a new grant renews', async () => {
    const s = await startHubSpotSim({ oauth: { ...GRANT, ttl_s: 1800 } });
    try {
      const id = s.createContact({ email: 'gus@example.com' });
      // b's clock: moved past the 10 s between its looks at the shared state.
      let later = 0;
      const hubspot = (hdb: HearthDb, oauth: typeof GRANT, now = Date.now) =>
        createHubSpotConnector({ base_url: s.url, oauth }, { tokens: createTokenStore(hdb, cipher), now });
      const a = hubspot(ctx.hdb(), GRANT);
      const b = hubspot(other, GRANT, () => Date.now() + later);
      await a.source!.listContacts(null, { limit: 1 });
      s.oauth!.revoke();
      await assert.rejects(a.source!.listContacts(null, { limit: 1 }));
      const job = { target: 'hubspot', kind: 'crm.opt_in_write', job_key: id, origin_at: 0 };
      const payload = { customer_id: 'cus_9', external_id: id, property: 'points_aggregation_opt_in', opt_in: true };
      await enqueueJobs(ctx.hdb().db, [{ ...job, payload, supersedes_pending: false }], 5, Date.now());
      const opts = {
        worker_id: 'w',
        lease_ms: 60_000,
        batch: 10,
        retry: { max_attempts: 5, base_delay_ms: 1, max_delay_ms: 1 },
        now: Date.now,
        random: Math.random,
      };
      // b never saw a refusal itself: it learns it from the shared row before claiming anything.
      assert.equal(await readyBecomes(b, false), false);
      assert.equal(await deliverDueJobs({ ...ctx.hdb(), db: other.db }, b, 'hubspot', opts), 0);
      const [waiting] = await listJobs(ctx.hdb().db, { target: 'hubspot', limit: 10 });
      assert.equal(waiting?.status, 'pending');
      assert.equal(waiting?.attempts, 0);

      // Re-consent; a process restarted with the new grant delivers, and b resumes with its token.
      s.oauth!.regrant('rt-renewed');
      const c = hubspot(ctx.hdb(), { ...GRANT, refresh_token: 'rt-renewed' });
      assert.equal(await deliverDueJobs(ctx.hdb(), c, 'hubspot', opts), 1);
      assert.equal(s.getContact(id)?.properties.points_aggregation_opt_in, 'true');
      later = 11_000;
      assert.equal(await readyBecomes(b, true), true);
      assert.equal(b.auth!.status().state, 'ok');
    } finally {
      await s.close();
    }
  });

  test('a stored token near its expiry is renewed once, by whichever process comes first', async () => {
    let clock = Date.now();
    const connector = `hubspot-${++n}`;
    const make = (hdb: HearthDb) =>
      createCredential(
        { kind: 'refresh_token', token_url: `${sim.url}/oauth/v1/token`, grant: GRANT },
        { connector, store: createTokenStore(hdb, cipher), poll_ms: 0, now: () => clock },
      );
    const a = make(ctx.hdb());
    const b = make(other);
    const first = await a.token();
    assert.equal(await b.token(), first);
    const before = sim.oauth!.grants;
    clock = a.status().expires_at! - 60_000; // inside the five-minute window
    const [ta, tb] = await Promise.all([a.token(), b.token()]);
    assert.equal(ta, tb);
    assert.notEqual(ta, first);
    assert.equal(sim.oauth!.grants - before, 1);
  });
});

/** `ready()` starts a look at the shared row; asks again until it answers `want` (at most 5 s). */
async function readyBecomes(c: Connector, want: boolean): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (c.outbound!.ready!() === want) return want;
    await new Promise((r) => setTimeout(r, 10));
  }
  return !want;
}

test('a fixed token never touches the store', async () => {
  const store: TokenStore = {
    keepsTokens: true,
    read: () => Promise.reject(new Error('read')),
    renewing: () => Promise.reject(new Error('renewing')),
  };
  const c = createCredential({ kind: 'static', access_token: 'pat-1' }, { connector: 'x', store, poll_ms: 0 });
  assert.equal(await c.token(), 'pat-1');
  assert.equal(c.usable(), true);
  await c.settled();
});

test('a store that fails (database down, wrong data key) leaves the renewal to this process', async () => {
  const sim = await startHubSpotSim({ oauth: { ...GRANT } });
  try {
    const spec: CredentialSpec = { kind: 'refresh_token', token_url: `${sim.url}/oauth/v1/token`, grant: GRANT };
    const lines: string[] = [];
    const logger = createLogger('info', { write: (s: string) => void lines.push(s) });
    const down: TokenStore = {
      keepsTokens: true,
      read: () => Promise.reject(new Error('connection refused')),
      renewing: () => Promise.reject(new Error('connection refused')),
    };
    const a = createCredential(spec, { connector: 'x', store: down, logger });
    assert.ok(sim.oauth!.valid(await a.token()));
    assert.equal(sim.oauth!.grants, 1);
    assert.match(lines.join(''), /shared credential unavailable/);

    // The token was issued but the row could not be written: the token is used, not asked for again.
    const failsOnWrite: TokenStore = {
      keepsTokens: true,
      read: () => Promise.resolve(null),
      renewing: async (_c, decide) => {
        await decide(null);
        throw new Error('write failed');
      },
    };
    const b = createCredential(spec, { connector: 'y', store: failsOnWrite });
    assert.ok(sim.oauth!.valid(await b.token()));
    assert.equal(sim.oauth!.grants, 2);
    assert.doesNotMatch(lines.join(''), /sim-at-|rt-original|shh-secret/);
  } finally {
    await sim.close();
  }
});
