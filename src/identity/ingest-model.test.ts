import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { parseConfig } from '../config/loader.ts';
import type { InboundEvent } from '../canonical/types.ts';
import { describeEachDialect, linkOf, type DialectContext } from '../../test-support/dialects.ts';
import { engineContext } from '../runtime.ts';
import { createEventApplier } from '../flows/apply-events.ts';
import { applyPendingEvents } from '../engine/apply-loop.ts';
import { storeDeliveries } from '../engine/inbox.ts';
import * as identityMigration from '../db/migrations/0003-identity.ts';
import { comparePair, unpackPattern } from './comparators.ts';
import { conflictOf, decide, defaultIngestModel, identityKeys, type Candidate } from './ingest-model.ts';
import { rebuildIdentityKeys } from './ingest-model.ts';
import { buildNicknameIndex } from './nicknames.ts';
import { createPreparer } from './prepare.ts';
import type { PersonInput } from './types.ts';
import { T0, checkout, crmContact } from '../../test-support/ingest-events.ts';

const ctxFor = (identity: Record<string, unknown> = {}) =>
  engineContext(parseConfig({ database: 'sqlite::memory:', identity }));

/** Stores deliveries and applies them through the engine, as the inbox worker does. */
async function ingest(
  ctx: DialectContext,
  connector: string,
  events: InboundEvent[],
  identity: Record<string, unknown> = {},
) {
  const { db } = ctx.hdb();
  await storeDeliveries(db, connector, events, T0);
  const report = await applyPendingEvents(ctx.hdb(), createEventApplier(ctxFor(identity)), 100, () => T0 + 1000);
  assert.equal(report.failed, 0);
  return report;
}

const matchReviews = (ctx: DialectContext, customerId: string) =>
  ctx
    .hdb()
    .db.selectFrom('review_items')
    .selectAll()
    .where('kind', '=', 'match')
    .where('customer_ids', 'like', `%${customerId}%`)
    .execute();

describeEachDialect('identity matching at ingest', (ctx) => {
  test(
    'a storefront record with a typo in the name and another spelling ' +
      'of the email, same phone and address, joins the CRM customer',
    async () => {
      await ingest(ctx, 'hubspot', [
        crmContact('h-100', {
          given_name: 'Jonathan',
          family_name: 'Whitfield',
          email: 'jonathan.whitfield@gmail.com',
          phone: '(217) 555-0142',
          address: {
            line1: '12 Oak Avenue',
            line2: 'Apt 4B',
            city: 'Springfield',
            region: 'IL',
            postal_code: '62701',
            country: 'US',
          },
        }),
      ]);
      const crmCustomer = await linkOf(ctx, 'hubspot', 'h-100');
      const before = await ctx.hdb().db.selectFrom('customers').select('id').execute();
      await ingest(ctx, 'shopify', [
        checkout(
          's-100',
          {
            given_name: 'Jonahtan',
            family_name: 'Whitfield',
            email: 'Jonathan.Whitfield+shop@gmail.com',
            phone: '+1 217-555-0142',
          },
          {
            line1: '12 Oak Ave',
            line2: 'Apartment 4-B',
            city: 'Springfield',
            region: 'IL',
            postal_code: '62701',
            country: 'US',
          },
        ),
      ]);
      assert.equal(await linkOf(ctx, 'shopify', 's-100'), crmCustomer);
      assert.equal(
        (await ctx.hdb().db.selectFrom('customers').select('id').execute()).length,
        before.length,
        'no new customer',
      );
      const log = await ctx
        .hdb()
        .db.selectFrom('change_log')
        .selectAll()
        .where('customer_id', '=', crmCustomer)
        .where('field', '=', 'source_link')
        .execute();
      assert.equal(log.length, 1);
      assert.equal(log[0]!.new_value, 'shopify:s-100');
      assert.match(log[0]!.actor, /^identity:auto_link p=(0\.9[5-9]|1\.0)/);
      assert.deepEqual(await matchReviews(ctx, crmCustomer), []);
    },
  );

  test(
    'a guest checkout (no storefront customer id) under a new ' +
      'email, same phone and address, joins the CRM customer',
    async () => {
      await ingest(ctx, 'hubspot', [
        crmContact('h-guest', {
          given_name: 'Margaret',
          family_name: 'Okonkwo',
          email: 'm.okonkwo@work.example',
          phone: '(312) 555-0177',
          address: {
            line1: '400 W Erie St',
            line2: 'Unit 12',
            city: 'Chicago',
            region: 'IL',
            postal_code: '60654',
            country: 'US',
          },
        }),
      ]);
      const crmCustomer = await linkOf(ctx, 'hubspot', 'h-guest');
      const before = (await ctx.hdb().db.selectFrom('customers').select('id').execute()).length;
      const guest: InboundEvent = {
        delivery_id: 'shop-guest-1',
        event: {
          type: 'checkout.address_confirmed',
          source: 'shopify',
          external_id: null,
          contact: {
            given_name: 'Margret',
            family_name: 'Okonkwo',
            email: 'maggie.okonkwo@home.example',
            phone: '+1 312 555 0177',
          },
          address: {
            line1: '400 West Erie Street',
            line2: '#12',
            city: 'Chicago',
            region: 'IL',
            postal_code: '60654',
            country: 'US',
          },
          order_id: 'o-guest-1',
          occurred_at: T0,
        },
      };
      await ingest(ctx, 'shopify', [guest]);
      assert.equal(
        (await ctx.hdb().db.selectFrom('customers').select('id').execute()).length,
        before,
        'no new customer for the guest',
      );
      const log = await ctx
        .hdb()
        .db.selectFrom('change_log')
        .selectAll()
        .where('customer_id', '=', crmCustomer)
        .where('field', '=', 'source_link')
        .execute();
      assert.deepEqual(
        log.map((l) => l.new_value),
        ['shopify:guest:maggie.okonkwo@home.example'],
      );
    },
  );

  test('a second storefront account of a customer who already has one goes to review, not auto-link', async () => {
    const crmCustomer = await linkOf(ctx, 'hubspot', 'h-100');
    await ingest(ctx, 'shopify', [
      checkout(
        's-101',
        {
          given_name: 'Jonathan',
          family_name: 'Whitfield',
          email: 'jonathanwhitfield@gmail.com',
          phone: '217 555 0142',
        },
        {
          line1: '12 Oak Avenue',
          line2: '#4B',
          city: 'Springfield',
          region: 'IL',
          postal_code: '62701',
          country: 'US',
        },
      ),
    ]);
    assert.notEqual(await linkOf(ctx, 'shopify', 's-101'), crmCustomer);
    const [item] = await matchReviews(ctx, crmCustomer);
    assert.equal((JSON.parse(item!.explanation!) as { guard: string }).guard, 'already_linked_in_system');
  });

  test('an uncertain match gets its own customer and a review item with the score explanation', async () => {
    await ingest(ctx, 'hubspot', [
      crmContact('h-200', {
        given_name: 'Katherine',
        family_name: 'Doyle',
        email: 'kdoyle@example.com',
        address: { line1: '40 Birch Rd', city: 'Springfield', region: 'IL', postal_code: '62702', country: 'US' },
      }),
    ]);
    const existing = await linkOf(ctx, 'hubspot', 'h-200');
    await ingest(ctx, 'shopify', [
      checkout(
        's-200',
        { given_name: 'Kate', family_name: 'Doyle', email: 'kate.d@example.org' },
        { line1: '40 Birch Road', city: 'Springfield', region: 'IL', postal_code: '62702', country: 'US' },
      ),
    ]);
    const incoming = await linkOf(ctx, 'shopify', 's-200');
    assert.notEqual(incoming, existing);
    const [item, ...rest] = await matchReviews(ctx, existing);
    assert.equal(rest.length, 0);
    assert.equal(item!.status, 'pending');
    assert.deepEqual(JSON.parse(item!.customer_ids), [existing, incoming]);
    assert.ok(item!.score! >= 0.6 && item!.score! < 0.95, `score ${item!.score} in the review band`);
    const explanation = JSON.parse(item!.explanation!) as {
      fields: { field: string; level: string; weight: number }[];
      guard: string | null;
    };
    const given = explanation.fields.find((f) => f.field === 'given_name')!;
    assert.equal(given.level, 'close', 'Kate is a nickname of Katherine');
    assert.ok(explanation.fields.find((f) => f.field === 'email')!.weight < 0, 'different emails weigh against');
    assert.equal(explanation.guard, null);
  });

  test(
    'conflicting strong identifiers (other email and ' + 'other phone) never auto-link, however close the rest',
    async () => {
      await ingest(ctx, 'hubspot', [
        crmContact('h-300', {
          given_name: 'Maria',
          family_name: 'Lopez',
          email: 'maria.lopez@example.com',
          phone: '217-555-0199',
          address: { line1: '7 Elm St', city: 'Springfield', region: 'IL', postal_code: '62703', country: 'US' },
        }),
      ]);
      const existing = await linkOf(ctx, 'hubspot', 'h-300');
      await ingest(ctx, 'shopify', [
        checkout(
          's-300',
          { given_name: 'Maria', family_name: 'Lopez', email: 'mlopez77@example.net', phone: '217-555-0123' },
          { line1: '7 Elm Street', city: 'Springfield', region: 'IL', postal_code: '62703', country: 'US' },
        ),
      ]);
      const incoming = await linkOf(ctx, 'shopify', 's-300');
      assert.notEqual(incoming, existing);
      const [item] = await matchReviews(ctx, existing);
      assert.ok(item!.score! >= 0.95, 'the model alone would have linked them');
      assert.equal((JSON.parse(item!.explanation!) as { guard: string }).guard, 'email_and_phone_differ');
    },
  );

  test('an unrelated record at another address is neither linked nor queued', async () => {
    await ingest(ctx, 'shopify', [
      checkout(
        's-400',
        { given_name: 'Omar', family_name: 'Haddad', email: 'omar@example.net', phone: '217-555-0177' },
        { line1: '900 Main St', city: 'Springfield', region: 'IL', postal_code: '62704', country: 'US' },
      ),
    ]);
    const id = await linkOf(ctx, 'shopify', 's-400');
    assert.deepEqual(await matchReviews(ctx, id), []);
    const keys = await ctx
      .hdb()
      .db.selectFrom('identity_keys')
      .select('key')
      .where('customer_id', '=', id)
      .orderBy('key')
      .execute();
    assert.deepEqual(
      keys.map((k) => k.key.split(':')[0]),
      ['addr', 'email', 'fpc', 'phone'],
      'blocking keys are kept for later records',
    );
  });

  test('two records of one person in the same batch are linked in memory', async () => {
    const address = { line1: '18 Maple Dr', city: 'Springfield', region: 'IL', postal_code: '62706', country: 'US' };
    const { db } = ctx.hdb();
    await storeDeliveries(
      db,
      'hubspot',
      [
        crmContact('h-600', {
          given_name: 'Priya',
          family_name: 'Raman',
          email: 'priya.raman@gmail.com',
          phone: '217-555-0188',
          address,
        }),
      ],
      T0,
    );
    await storeDeliveries(
      db,
      'shopify',
      [
        checkout(
          's-600',
          { given_name: 'Priya', family_name: 'Ramen', email: 'p.r.i.y.a.raman@gmail.com', phone: '(217) 555 0188' },
          { ...address, line1: '18 Maple Drive' },
        ),
      ],
      T0,
    );
    const report = await applyPendingEvents(ctx.hdb(), createEventApplier(ctxFor()), 100, () => T0 + 1000);
    assert.equal(report.applied, 2);
    assert.equal(await linkOf(ctx, 'shopify', 's-600'), await linkOf(ctx, 'hubspot', 'h-600'));
  });

  test('with identity matching disabled, a new record gets a new customer as before', async () => {
    await ingest(ctx, 'hubspot', [
      crmContact('h-500', {
        given_name: 'Lena',
        family_name: 'Berg',
        email: 'lena.berg@gmail.com',
        phone: '217-555-0166',
        address: { line1: '3 Cedar Ln', city: 'Springfield', region: 'IL', postal_code: '62705', country: 'US' },
      }),
    ]);
    await ingest(
      ctx,
      'shopify',
      [
        checkout(
          's-500',
          { given_name: 'Lena', family_name: 'Berg', email: 'Lena.Berg+x@gmail.com', phone: '217-555-0166' },
          { line1: '3 Cedar Lane', city: 'Springfield', region: 'IL', postal_code: '62705', country: 'US' },
        ),
      ],
      { enabled: false },
    );
    assert.notEqual(await linkOf(ctx, 'shopify', 's-500'), await linkOf(ctx, 'hubspot', 'h-500'));
  });
});

test('bands: a second sure candidate or a conflict sends an auto-link to review', () => {
  const settings = { auto_link: 0.95, review: 0.6, default_country: 'US', model: defaultIngestModel() };
  const cand = (id: string, probability: number, conflict: string | null = null): Candidate => ({
    customer_id: id,
    probability,
    conflict,
    explanation: { match_probability: probability, match_weight: 0, prior_weight: 0, fields: [] },
  });
  assert.equal(decide([cand('a', 0.99)], settings).band, 'auto');
  assert.deepEqual(decide([cand('a', 0.99), cand('b', 0.97)], settings), {
    band: 'review',
    candidate: cand('a', 0.99),
    reason: 'several_candidates',
  });
  assert.deepEqual(decide([cand('a', 0.99, 'date_of_birth_differs')], settings), {
    band: 'review',
    candidate: cand('a', 0.99, 'date_of_birth_differs'),
    reason: 'date_of_birth_differs',
  });
  assert.equal(decide([cand('a', 0.7)], settings).band, 'review');
  assert.equal(decide([cand('a', 0.2)], settings).band, 'reject');
  assert.equal(decide([], settings).band, 'reject');
});

test('blocking keys: the phone key ignores the country code, the email key follows the canonical form', () => {
  const a = identityKeys(
    {
      email: 'Jo.Smith+x@googlemail.com',
      phone: '+1 (217) 555-0142',
      family_name: "O'Neil",
      postal_code: '62701-1234',
    },
    'K1',
  );
  const b = identityKeys(
    { email: 'josmith@gmail.com', phone: '217.555.0142', family_name: 'ONeil', postal_code: '62701' },
    'K1',
  );
  assert.deepEqual(a, b);
  assert.deepEqual(a, ['email:josmith@gmail.com', 'phone:175550142', 'addr:K1', 'fpc:oneil|62701']);
});

describeEachDialect('identity migration', (ctx) => {
  test('customers that exist before the migration get their blocking keys after it (merged ones do not)', async () => {
    const { db } = ctx.hdb();
    await identityMigration.down(db as unknown as Kysely<unknown>);
    const row = {
      given_name: 'Ivo',
      family_name: 'Petrov',
      email: 'ivo@example.com',
      email_normalized: 'ivo@example.com',
      phone: '217-555-0101',
      address_line1: '2 Pine St',
      address_line2: null,
      city: 'Springfield',
      region: 'IL',
      postal_code: '62701',
      country: 'US',
      address_key: 'K-IVO',
      address_source: 'api',
      address_validated_at: null,
      field_sources: '{}',
      version: 1,
      created_at: T0,
      updated_at: T0,
    };
    await db
      .insertInto('customers')
      .values([
        { ...row, id: 'cus_mig_a', merged_into: null },
        { ...row, id: 'cus_mig_b', merged_into: 'cus_mig_a' },
      ])
      .execute();
    await identityMigration.up(db as unknown as Kysely<unknown>);
    // The migration only creates tables; the keys are the identity domain's data step (flows/migrate.ts).
    assert.deepEqual(await db.selectFrom('identity_keys').selectAll().execute(), []);
    await rebuildIdentityKeys(db);
    const keys = await db.selectFrom('identity_keys').selectAll().orderBy('key').execute();
    assert.deepEqual(keys, [
      { key: 'addr:K-IVO', customer_id: 'cus_mig_a' },
      { key: 'email:ivo@example.com', customer_id: 'cus_mig_a' },
      { key: 'fpc:petrov|62701', customer_id: 'cus_mig_a' },
      { key: 'phone:175550101', customer_id: 'cus_mig_a' },
    ]);
  });
});

test('config: the review band must not exceed the auto-link band', () => {
  assert.throws(
    () => parseConfig({ identity: { auto_link: 0.5, review: 0.9 } }),
    (e: Error & { code?: string }) => e.code === 'invalid_config' && /identity/.test(e.message),
  );
  assert.equal(ctxFor({ enabled: false }).identity, null);
  assert.equal(ctxFor().identity!.auto_link, 0.95);
});

test('auto-link guards: conflicting identifiers, or nothing but name and address in common', () => {
  const prepare = createPreparer({ defaultCountry: 'US' });
  const nick = { nicknames: buildNicknameIndex() };
  const home = { address_line1: '4 Oak St', city: 'Springfield', region: 'IL', postal_code: '62701' };
  const guard = (x: PersonInput, y: PersonInput) => {
    const [a, b] = [prepare(x), prepare(y)];
    return conflictOf(a, b, unpackPattern(comparePair(a, b, nick)), nick);
  };
  const senior = {
    ...home,
    given_name: 'John',
    family_name: 'Carver',
    email: 'john.carver@example.com',
    phone: '217-555-0110',
  };
  assert.equal(
    guard(senior, { ...home, given_name: 'John', family_name: 'Carver', email: 'jc2008@example.net' }),
    'no_shared_identifier',
  );
  assert.equal(
    guard(senior, { ...senior, email: 'other@example.net', phone: '217-555-0999' }),
    'email_and_phone_differ',
  );
  assert.equal(
    guard({ ...senior, date_of_birth: '1961-04-02' }, { ...senior, date_of_birth: '1994-11-23' }),
    'date_of_birth_differs',
  );
  assert.equal(guard(senior, { ...senior, given_name: 'Martha' }), 'given_name_differs');
  assert.equal(
    guard(senior, {
      ...home,
      given_name: 'Jonh',
      family_name: 'Carver',
      email: 'jc2008@example.net',
      phone: '+1 217 555 0110',
    }),
    null,
  );
});
