import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEachDialect } from '../../test-support/dialects.ts';
import type { Connector, DeliveryResult } from '../canonical/types.ts';
import { linkSource } from '../customers/customer-store.ts';
import { deliverDueJobs } from '../engine/deliver.ts';
import { enqueueJobs } from '../engine/jobs.ts';
import { withDisclosures } from '../governance/disclosures.ts';
import { learnLinksOnDelivery } from './delivered.ts';

describeEachDialect('a delivered batch settles set-wise', (ctx) => {
  test('states, links, review items, echo fingerprints and disclosures as job after job', async () => {
    const { db } = ctx.hdb();
    const now = 1_800_000_000_000;
    const person = (id: string) => ({
      id,
      given_name: 'Pat',
      email: `${id}@example.com`,
      email_normalized: `${id}@example.com`,
      field_sources: '{}',
      version: 1,
      created_at: now,
      updated_at: now,
    });
    await db.insertInto('customers').values(['cus_s_a', 'cus_s_b', 'cus_s_c'].map(person)).execute();
    await linkSource(db, 'vend', 'X1', 'cus_s_a', { name: 'Old', phone: '1' }, now);
    // What each job's delivery reports, by its key.
    const results: Record<string, DeliveryResult> = {
      // A new record for a: learnt before the next job's review item reads the crosswalk.
      k1: { ok: true, external_id: 'X2', written: { name: 'Ana' } },
      k2: { ok: true, review: { reason: 'duplicate_email', holder_external_id: 'X2', message: 'taken' } },
      // The same record twice in one batch: both changes merge into its snapshot, the last customer holds it.
      k3: { ok: true, external_id: 'X1', written: { phone: '2' } },
      k4: { ok: true, external_id: 'X1', written: { name: 'Cy' } },
      k5: { ok: false, kind: 'transient', message: 'HTTP 503' },
      k6: { ok: false, kind: 'invalid', message: 'HTTP 400' },
    };
    const customerOf: Record<string, string> = {
      k1: 'cus_s_a',
      k2: 'cus_s_b',
      k3: 'cus_s_a',
      k4: 'cus_s_c',
      k5: 'cus_s_a',
      k6: 'cus_s_b',
    };
    const ids = await enqueueJobs(
      db,
      Object.keys(results).map((key) => ({
        target: 'vend',
        kind: 'profile.project',
        job_key: key,
        payload: { customer_id: customerOf[key], given_name: 'Pat', email: null },
        origin_at: now,
        customer_id: customerOf[key]!,
      })),
      3,
      now,
    );
    const keyOf = new Map<string, string>();
    const connector: Connector = {
      id: 'vend',
      outbound: {
        kinds: ['profile.project'],
        deliver: async (jobs) => jobs.map((j) => results[keyOf.get(j.id)!]!),
      },
    };
    const rows = await db.selectFrom('jobs').select(['id', 'job_key']).where('id', 'in', ids).execute();
    for (const r of rows) keyOf.set(r.id, r.job_key);
    const claimed = await deliverDueJobs(ctx.hdb(), connector, 'vend', {
      worker_id: 'wrk_test',
      lease_ms: 10_000,
      batch: 10,
      retry: { max_attempts: 3, base_delay_ms: 10, max_delay_ms: 100 },
      now: () => now + 1,
      random: () => 0.5,
      onDelivered: withDisclosures(learnLinksOnDelivery),
    });
    assert.equal(claimed, 6, 'one batch');

    const jobs = await db
      .selectFrom('jobs')
      .select(['job_key', 'status', 'last_error_kind'])
      .where('id', 'in', ids)
      .execute();
    assert.deepEqual(
      Object.fromEntries(
        jobs.map((j) => [j.job_key, `${j.status}${j.last_error_kind ? `:${j.last_error_kind}` : ''}`]),
      ),
      { k1: 'done', k2: 'done', k3: 'done', k4: 'done', k5: 'pending:transient', k6: 'dead:invalid' },
    );
    const links = await db
      .selectFrom('source_links')
      .select(['external_id', 'customer_id', 'snapshot'])
      .where('system', '=', 'vend')
      .orderBy('external_id')
      .execute();
    assert.deepEqual(
      links.map((l) => [l.external_id, l.customer_id, JSON.parse(l.snapshot!)]),
      [
        ['X1', 'cus_s_c', { name: 'Cy', phone: '2' }],
        ['X2', 'cus_s_a', { name: 'Ana' }],
      ],
    );
    const reviews = await db.selectFrom('review_items').select(['kind', 'customer_ids']).execute();
    assert.deepEqual(
      reviews.map((r) => [r.kind, JSON.parse(r.customer_ids).sort()]),
      [['match', ['cus_s_a', 'cus_s_b']]],
      'the review item sees the record the job before it landed on',
    );
    const echoes = await db
      .selectFrom('echo_fingerprints')
      .select(['external_id', 'job_id'])
      .where('system', '=', 'vend')
      .execute();
    assert.deepEqual(echoes.map((e) => `${e.external_id}:${keyOf.get(e.job_id!)}`).sort(), ['X1:k3', 'X1:k4', 'X2:k1']);
    const disclosed = await db
      .selectFrom('field_disclosures')
      .select(['job_id', 'fields'])
      .where('system', '=', 'vend')
      .execute();
    assert.deepEqual(disclosed.map((d) => `${keyOf.get(d.job_id)}:${d.fields}`).sort(), [
      'k1:["given_name"]',
      'k2:["given_name"]',
      'k3:["given_name"]',
      'k4:["given_name"]',
    ]);
  });
});
