import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { call, contactUpdate, ingest, keyOf } from '../../test-support/governance.ts';
import { startTestHearth } from '../../test-support/harness.ts';
import { SIGNED_CONNECTORS } from '../../test-support/signers.ts';
import type { Hearth } from '../runtime.ts';

const address = (n: number) => ({
  line1: `${n} Maple Avenue`,
  city: 'Springfield',
  region: 'IL',
  postal_code: '62701',
  country: 'US',
});

describeEachDialect('governance: quality rules at ingest', (ctx) => {
  let hearth: Hearth;
  const db = () => ctx.hdb().db;
  const customerOf = async (ext: string) =>
    db()
      .selectFrom('customers')
      .innerJoin('source_links', 'source_links.customer_id', 'customers.id')
      .selectAll('customers')
      .where('source_links.system', '=', 'hubspot')
      .where('source_links.external_id', '=', ext)
      .executeTakeFirstOrThrow();

  before(async () => {
    ({ hearth } = await startTestHearth(ctx, {
      connectors: { ...SIGNED_CONNECTORS },
      governance: {
        quality: {
          rules: [
            { name: 'us-phone', field: 'phone', check: 'format', pattern: '\\+1\\d{10}' },
            {
              name: 'address-burst',
              field: 'address',
              check: 'max_change_rate',
              max_rate: 0.5,
              min_changes: 3,
              action: 'breaker',
            },
          ],
        },
      },
    }));
  });
  after(() => hearth.close());

  test('a breaking value is held for review with both values; the rest applies; approve writes it', async () => {
    await ingest(hearth, ctx.hdb(), [
      contactUpdate('hubspot', 'q-1', { email: 'q1@example.com', given_name: 'Quinn', phone: '+15550001111' }),
    ]);
    await ingest(hearth, ctx.hdb(), [contactUpdate('hubspot', 'q-1', { given_name: 'Quincy', phone: 'call me' })]);
    const row = await customerOf('q-1');
    assert.equal(row.given_name, 'Quincy');
    assert.equal(row.phone, '+15550001111', 'the bad phone was not applied');
    const open = await call(hearth, 'GET', '/v1/quality/reviews?status=open&limit=10');
    assert.equal(open.status, 200);
    const review = open.body.data[0];
    assert.deepEqual(
      [review.rule, review.field, review.old_value, review.new_value, review.customer_id],
      ['us-phone', 'phone', '+15550001111', 'call me', row.id],
    );
    const readonly = await keyOf(hearth, 'readonly');
    assert.equal(
      (await call(hearth, 'POST', `/v1/quality/reviews/${review.id}`, { decision: 'approve' }, readonly)).status,
      403,
    );
    const approved = await call(hearth, 'POST', `/v1/quality/reviews/${review.id}`, { decision: 'approve' });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.equal(approved.body.status, 'approved');
    assert.equal((await customerOf('q-1')).phone, 'call me');
    const twice = await call(hearth, 'POST', `/v1/quality/reviews/${review.id}`, { decision: 'reject' });
    assert.equal(twice.status, 409);
  });

  test('too many addresses changed by one source trips its breaker: held for review, flag open, metric', async () => {
    const people = [2, 3, 4, 5, 6];
    await ingest(
      hearth,
      ctx.hdb(),
      people.map((n) => contactUpdate('hubspot', `q-${n}`, { email: `q${n}@example.com`, given_name: `Q${n}` })),
    );
    // Six customers: the 4th address change is 4 of 6 (> 50%, with at least 3 changes).
    await ingest(
      hearth,
      ctx.hdb(),
      [1, ...people].map((n) => contactUpdate('hubspot', `q-${n}`, { address: address(n) })),
    );
    const withAddress = await db()
      .selectFrom('customers')
      .select('id')
      .where('address_line1', 'is not', null)
      .execute();
    assert.equal(withAddress.length, 3);
    const held = await call(hearth, 'GET', '/v1/quality/reviews?status=open&limit=50');
    assert.deepEqual(held.body.data.map((r: { rule: string }) => r.rule).sort(), [
      'address-burst',
      'breaker.hubspot',
      'breaker.hubspot',
    ]);
    const flags = await call(hearth, 'GET', '/v1/flags');
    const breaker = flags.body.data.find((f: { name: string }) => f.name === 'breaker.hubspot');
    assert.deepEqual([breaker.value, breaker.updated_by], ['open', 'quality:address-burst']);
    const metrics = await hearth.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /hearth_quality_breakers_tripped_total\{rule="address-burst",source="hubspot"\} 1/);

    // While open, any change from the source is held; closing it (admin) lets the next batch through.
    await ingest(hearth, ctx.hdb(), [contactUpdate('hubspot', 'q-1', { given_name: 'Q' })]);
    assert.equal((await customerOf('q-1')).given_name, 'Quincy');
    await call(hearth, 'PUT', '/v1/flags/breaker.hubspot', { value: 'closed' });
    await ingest(hearth, ctx.hdb(), [contactUpdate('hubspot', 'q-1', { given_name: 'Q' })]);
    assert.equal((await customerOf('q-1')).given_name, 'Q');
  });
});
