import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getCustomerRow } from '../customers/customer-store.ts';
import type { CustomersTable } from '../db/schema.ts';
import { describeEachDialect, type DialectContext } from '../../test-support/dialects.ts';
import { HearthError } from '../errors.ts';
import { newId } from '../ids.ts';
import { refreshIdentityKeys } from './ingest-model.ts';
import { mergeCustomers, unmergeCustomer } from './merge.ts';

const T0 = Date.UTC(2026, 1, 1);

function customer(over: Partial<CustomersTable>): CustomersTable {
  return {
    id: newId('cus', T0),
    given_name: null,
    family_name: null,
    email: null,
    email_normalized: null,
    phone: null,
    address_line1: null,
    address_line2: null,
    city: null,
    region: null,
    postal_code: null,
    country: null,
    address_key: null,
    address_source: null,
    address_validated_at: null,
    field_sources: '{}',
    merged_into: null,
    version: 1,
    created_at: T0,
    updated_at: T0,
    ...over,
  };
}

async function seed(ctx: DialectContext, tag: string) {
  const { db } = ctx.hdb();
  const a = customer({
    given_name: 'Ana',
    family_name: 'Reyes',
    email: `ana.${tag}@example.com`,
    email_normalized: `ana.${tag}@example.com`,
    address_line1: '5 Lake St',
    city: 'Springfield',
    region: 'IL',
    postal_code: '62701',
    country: 'US',
    address_key: `5 lake st|${tag}`,
    address_source: 'hubspot',
    field_sources: '{"given_name":"hubspot","address":"hubspot"}',
  });
  const b = customer({
    given_name: 'Ana',
    family_name: 'Reyes',
    phone: '+12175550100',
    address_line1: '9 Hill Rd',
    city: 'Springfield',
    region: 'IL',
    postal_code: '62702',
    country: 'US',
    address_key: `9 hill rd|${tag}`,
    address_source: 'shopify',
    address_validated_at: T0,
    field_sources: '{"phone":"shopify","address":"shopify"}',
  });
  await db.insertInto('customers').values([a, b]).execute();
  await db
    .insertInto('source_links')
    .values([
      {
        system: 'hubspot',
        external_id: `h-${tag}`,
        customer_id: a.id,
        snapshot: '{"firstname":"Ana"}',
        created_at: T0,
        updated_at: T0,
      },
      {
        system: 'shopify',
        external_id: `s1-${tag}`,
        customer_id: b.id,
        snapshot: '{"first_name":"Ana"}',
        created_at: T0,
        updated_at: T0 + 5,
      },
      {
        system: 'shopify',
        external_id: `s2-${tag}`,
        customer_id: b.id,
        snapshot: null,
        created_at: T0,
        updated_at: T0 + 6,
      },
    ])
    .execute();
  await refreshIdentityKeys(db, [a, b]);
  return { a, b };
}

const rowsOf = (ctx: DialectContext, ids: string[]) =>
  ctx.hdb().db.selectFrom('customers').selectAll().where('id', 'in', ids).orderBy('id').execute();
const linksOf = (ctx: DialectContext, tag: string) =>
  ctx
    .hdb()
    .db.selectFrom('source_links')
    .selectAll()
    .where('external_id', 'like', `%-${tag}`)
    .orderBy('external_id')
    .execute();
const withoutBookkeeping = (rows: CustomersTable[]) => rows.map(({ version: _v, updated_at: _u, ...rest }) => rest);

describeEachDialect('merge and unmerge', (ctx) => {
  test('merging B into A: A fills its gaps, B points at A, crosswalk entries move, all logged', async () => {
    const { db } = ctx.hdb();
    const { a, b } = await seed(ctx, 'm1');
    const out = await mergeCustomers(db, a.id, b.id, { actor: 'operator:test', now: T0 + 100 });
    const [after] = await rowsOf(ctx, [a.id]);
    assert.equal(after!.phone, '+12175550100', 'the survivor adopts a phone it lacked');
    assert.equal(after!.address_line1, '5 Lake St', 'the survivor keeps its own address');
    assert.equal(JSON.parse(after!.field_sources).phone, 'shopify');
    assert.equal(after!.version, 2);
    assert.equal((await getCustomerRow(db, b.id))!.id, a.id, "B's id still resolves, to A");
    assert.deepEqual(
      (await linksOf(ctx, 'm1')).map((l) => [l.external_id, l.customer_id]),
      [
        ['h-m1', a.id],
        ['s1-m1', a.id],
        ['s2-m1', a.id],
      ],
    );
    const log = await db.selectFrom('merge_log').selectAll().where('id', '=', out.merge_id).executeTakeFirstOrThrow();
    assert.deepEqual(JSON.parse(log.survivor_before), a);
    assert.deepEqual(JSON.parse(log.merged_before), b);
    assert.deepEqual(
      (JSON.parse(log.moved_links) as { external_id: string }[]).map((l) => l.external_id),
      ['s1-m1', 's2-m1'],
    );
    const changes = await db
      .selectFrom('change_log')
      .select(['customer_id', 'field', 'new_value'])
      .where('event_id', '=', out.merge_id)
      .orderBy('id')
      .execute();
    assert.deepEqual(changes.map((c) => [c.customer_id === a.id ? 'A' : 'B', c.field]).sort(), [
      ['A', 'phone'],
      ['A', 'source_link'],
      ['A', 'source_link'],
      ['B', 'merged_into'],
    ]);
    const keysOfB = await db.selectFrom('identity_keys').select('key').where('customer_id', '=', b.id).execute();
    assert.deepEqual(keysOfB, [], 'a merged record is no longer a match candidate');
  });

  test('unmerge restores both records and their crosswalk entries exactly, and logs the unmerge', async () => {
    const { db } = ctx.hdb();
    const { a, b } = await seed(ctx, 'm2');
    const rowsBefore = await rowsOf(ctx, [a.id, b.id]);
    const linksBefore = await linksOf(ctx, 'm2');
    const merged = await mergeCustomers(db, a.id, b.id, { actor: 'operator:test', now: T0 + 100 });
    const out = await unmergeCustomer(db, b.id, { actor: 'operator:test', now: T0 + 200 });
    assert.equal(out.merge_id, merged.merge_id);
    assert.deepEqual(out.kept_fields, []);
    const rowsAfter = await rowsOf(ctx, [a.id, b.id]);
    assert.deepEqual(withoutBookkeeping(rowsAfter), withoutBookkeeping(rowsBefore));
    assert.deepEqual(
      rowsAfter.map((r) => r.version),
      [3, 3],
      'versions move forward (merge, unmerge)',
    );
    assert.deepEqual(await linksOf(ctx, 'm2'), linksBefore);
    const logs = await db.selectFrom('merge_log').selectAll().where('merged_id', '=', b.id).orderBy('id').execute();
    assert.deepEqual(
      logs.map((l) => [l.action, l.undoes, l.undone_by]),
      [
        ['merge', null, out.unmerge_id],
        ['unmerge', merged.merge_id, null],
      ],
    );
    const unmergeChanges = await db
      .selectFrom('change_log')
      .select(['customer_id', 'field', 'new_value'])
      .where('event_id', '=', out.unmerge_id)
      .execute();
    assert.ok(unmergeChanges.some((c) => c.customer_id === b.id && c.field === 'merged_into' && c.new_value === null));
    assert.ok(unmergeChanges.some((c) => c.customer_id === a.id && c.field === 'phone' && c.new_value === null));
    assert.ok(
      (await db.selectFrom('identity_keys').select('key').where('customer_id', '=', b.id).execute()).length > 0,
      'B is a candidate again',
    );
    await assert.rejects(
      unmergeCustomer(db, b.id, { actor: 'operator:test', now: T0 + 300 }),
      (e: HearthError) => e.code === 'conflict',
    );
  });

  test('a survivor field changed after the merge keeps its newer value on unmerge', async () => {
    const { db } = ctx.hdb();
    const { a, b } = await seed(ctx, 'm3');
    await mergeCustomers(db, a.id, b.id, { actor: 'operator:test', now: T0 + 100 });
    await db.updateTable('customers').set({ phone: '+12175550999', version: 3 }).where('id', '=', a.id).execute();
    const out = await unmergeCustomer(db, b.id, { actor: 'operator:test', now: T0 + 200 });
    assert.deepEqual(out.kept_fields, ['phone']);
    assert.equal(out.survivor.phone, '+12175550999');
    assert.equal(out.restored.phone, '+12175550100');
    assert.equal(out.restored.merged_into, null);
  });

  test('bad merges are refused and change nothing', async () => {
    const { db } = ctx.hdb();
    const { a, b } = await seed(ctx, 'm4');
    await assert.rejects(
      mergeCustomers(db, a.id, a.id, { actor: 't', now: T0 }),
      (e: HearthError) => e.code === 'bad_request',
    );
    await assert.rejects(
      mergeCustomers(db, a.id, 'cus_missing', { actor: 't', now: T0 }),
      (e: HearthError) => e.code === 'not_found',
    );
    await mergeCustomers(db, a.id, b.id, { actor: 't', now: T0 + 1 });
    const before = await rowsOf(ctx, [a.id, b.id]);
    await assert.rejects(
      mergeCustomers(db, a.id, b.id, { actor: 't', now: T0 + 2 }),
      (e: HearthError) => e.code === 'conflict',
    );
    await assert.rejects(
      unmergeCustomer(db, a.id, { actor: 't', now: T0 + 2 }),
      (e: HearthError) => e.code === 'conflict',
    );
    assert.deepEqual(await rowsOf(ctx, [a.id, b.id]), before);
  });
});
