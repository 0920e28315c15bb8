import { DEFAULT_LOYALTY } from '../loyalty/settings.ts';
import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import type { CustomersTable } from '../db/schema.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { membershipAfter } from './household-change.ts';
import { applyWantedMembership, applyWantedMemberships, type MembershipEffects } from './membership-apply.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { appendEntry } from '../loyalty/ledger-store.ts';
import { householdHistory, membershipAt } from '../households/membership-store.ts';

const customer = (id: string, email: string): CustomersTable => ({
  id,
  given_name: 'Ann',
  family_name: 'Smith',
  email,
  email_normalized: email,
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
  created_at: 1,
  updated_at: 1,
});

describe('membershipAfter (real-time household events)', () => {
  const held = { household_external_id: '9001', role: 'head' as const, opt_in: true };
  it('joining a new household as primary moves the member, role unknown -> member, consent kept', () => {
    assert.deepEqual(
      membershipAfter(held, { joined: { household_external_id: '9002', role: null, primary: true } }, false),
      { household: { external_id: '9002', name: null }, role: 'member', opt_in: true },
    );
  });
  it('a non-primary association does not move a member who has a household', () => {
    assert.equal(
      membershipAfter(held, { joined: { household_external_id: '9002', role: null, primary: false } }, false),
      'keep',
    );
    assert.deepEqual(
      membershipAfter(undefined, { joined: { household_external_id: '9002', role: null, primary: false } }, true),
      { household: { external_id: '9002', name: null }, role: 'member', opt_in: true },
    );
  });
  it('re-joining the same household keeps the head role', () => {
    assert.equal(
      (
        membershipAfter(held, { joined: { household_external_id: '9001', role: null, primary: true } }, false) as {
          role: string;
        }
      ).role,
      'head',
    );
  });
  it('leaving only the current household (or any, with *) ends the membership', () => {
    assert.equal(membershipAfter(held, { left: '9009' }, false), 'keep');
    assert.equal((membershipAfter(held, { left: '9001' }, false) as { household: unknown }).household, null);
    assert.equal((membershipAfter(held, { left: '*' }, false) as { household: unknown }).household, null);
    assert.equal(membershipAfter(undefined, { left: '*' }, false), 'keep');
  });
});

describeEachDialect('applyWantedMembership: timeline, loyalty hook and IdP pushes in one transaction', (ctx) => {
  const fx: MembershipEffects = { idp: { idp_targets: ['scim'] }, max_attempts: 3, loyalty: DEFAULT_LOYALTY };
  const cause = { source: 'hubspot', occurred_at: 1000 };

  test('a change opens a period, queues an IdP push with the new claims; the same state changes nothing', async () => {
    const db = ctx.hdb().db;
    await db.insertInto('customers').values(customer('cus_a', 'ann@example.com')).execute();
    const first = await db
      .transaction()
      .execute((trx) =>
        applyWantedMembership(
          trx,
          'hubspot',
          'cus_a',
          { household: { external_id: '9001', name: 'The Smiths' }, role: 'head', opt_in: true },
          fx,
          cause,
          1000,
        ),
      );
    assert.deepEqual([first.changed, first.household_created], [true, true]);
    const jobs = await db.selectFrom('jobs').selectAll().where('customer_id', '=', 'cus_a').execute();
    assert.equal(jobs.length, 1);
    assert.deepEqual([jobs[0]!.target, jobs[0]!.kind], ['scim', 'idp.claims_push']);
    const claims = JSON.parse(jobs[0]!.payload).claims;
    assert.deepEqual(
      [claims.household_id, claims.hierarchy_role, claims.points_aggregation_opt_in],
      [first.opened!.household_id, 'head', true],
    );
    const again = await db
      .transaction()
      .execute((trx) =>
        applyWantedMembership(
          trx,
          'hubspot',
          'cus_a',
          { household: { external_id: '9001', name: null }, role: 'head', opt_in: true },
          fx,
          cause,
          2000,
        ),
      );
    assert.deepEqual([again.changed, again.household_created], [false, false]);
    assert.equal((await db.selectFrom('jobs').select('id').where('customer_id', '=', 'cus_a').execute()).length, 1);
  });

  test('leaving closes the period and the ledger records the split (loyalty hook, same transaction)', async () => {
    const db = ctx.hdb().db;
    const left = await db
      .transaction()
      .execute((trx) =>
        applyWantedMembership(
          trx,
          'hubspot',
          'cus_a',
          { household: null, role: 'member', opt_in: false },
          fx,
          cause,
          3000,
        ),
      );
    assert.equal(left.changed, true);
    assert.equal(left.closed!.valid_to, 3000);
    assert.equal(await membershipAt(db, 'cus_a'), undefined);
    const split = await db
      .selectFrom('ledger_entries')
      .selectAll()
      .where('customer_id', '=', 'cus_a')
      .where('kind', '=', 'transfer')
      .execute();
    assert.equal(split.length, 1, 'the pool split is a ledger entry');
    assert.equal((await householdHistory(db, left.closed!.household_id)).length, 1);
  });

  test('a failure later in the transaction leaves no membership, no job, no household', async () => {
    const db = ctx.hdb().db;
    await db.insertInto('customers').values(customer('cus_b', 'bob@example.com')).execute();
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await applyWantedMembership(
          trx,
          'hubspot',
          'cus_b',
          { household: { external_id: '9777', name: 'Never' }, role: 'member', opt_in: true },
          fx,
          cause,
          4000,
        );
        throw new Error('crash after the change');
      }),
      /crash after the change/,
    );
    assert.equal(await membershipAt(db, 'cus_b'), undefined);
    assert.equal((await db.selectFrom('jobs').select('id').where('customer_id', '=', 'cus_b').execute()).length, 0);
    assert.equal(
      await db.selectFrom('households').select('id').where('external_id', '=', '9777').executeTakeFirst(),
      undefined,
    );
  });
});

describeEachDialect('applyWantedMemberships: a batch ends as the same wants applied one by one', (ctx) => {
  const fx: MembershipEffects = {
    idp: { idp_targets: ['scim'] },
    max_attempts: 3,
    loyalty: { ...DEFAULT_LOYALTY, split_policy: 'member_takes_share' },
  };
  const cause = { source: 'hubspot', occurred_at: 5000 };

  /** Customers `<p>1..4`: 1 and 2 pool in `<p>-H` (which earned 600 in spend), 3 is in `<p>-G`. */
  async function seed(db: Kysely<Database>, p: string): Promise<void> {
    for (const n of [1, 2, 3, 4])
      await db
        .insertInto('customers')
        .values(customer(`cus_${p}${n}`, `${p}${n}@x.example`))
        .execute();
    const hh = { external_id: `${p}-H`, name: 'H' };
    await db.transaction().execute(async (trx) => {
      const first = await applyWantedMembership(
        trx,
        'hubspot',
        `cus_${p}1`,
        { household: hh, role: 'head', opt_in: true },
        fx,
        cause,
        1000,
      );
      await applyWantedMembership(
        trx,
        'hubspot',
        `cus_${p}2`,
        { household: hh, role: 'member', opt_in: true },
        fx,
        cause,
        1000,
      );
      await applyWantedMembership(
        trx,
        'hubspot',
        `cus_${p}3`,
        { household: { external_id: `${p}-G`, name: 'G' }, role: 'head', opt_in: false },
        fx,
        cause,
        1000,
      );
      const entry = {
        kind: 'earn' as const,
        account_id: first.opened!.household_id,
        customer_id: `cus_${p}1`,
        points: 600,
        spend_minor: 60_000,
        source: 'test',
        actor: 'test',
        occurred_at: 1500,
      };
      await appendEntry(trx, entry, 1500);
    });
  }

  /** Everything the wants write, with ids replaced by customer numbers and household records. */
  async function snapshot(db: Kysely<Database>, p: string) {
    const periods = await db
      .selectFrom('household_members as m')
      .innerJoin('households as h', 'h.id', 'm.household_id')
      .select(['m.customer_id', 'h.external_id', 'm.role', 'm.opt_in', 'm.valid_from', 'm.valid_to'])
      .where('m.customer_id', 'like', `cus_${p}%`)
      .orderBy('m.customer_id')
      .orderBy('m.valid_from')
      .orderBy('m.id')
      .execute();
    const tiers = await db
      .selectFrom('tier_state')
      .select(['customer_id', 'tier', 'basis'])
      .where('customer_id', 'like', `cus_${p}%`)
      .orderBy('customer_id')
      .execute();
    const ledger = await db
      .selectFrom('ledger_entries')
      .select(['kind', 'customer_id', 'points'])
      .where('customer_id', 'like', `cus_${p}%`)
      .orderBy('customer_id')
      .orderBy('points')
      .execute();
    const jobs = await db
      .selectFrom('jobs')
      .select(['customer_id', 'kind', 'status', 'payload'])
      .where('customer_id', 'like', `cus_${p}%`)
      .where('status', '=', 'pending')
      .orderBy('customer_id')
      .execute();
    const strip = <T extends { customer_id: string | null }>(r: T) => ({
      ...r,
      customer_id: r.customer_id!.slice(4 + p.length),
    });
    const claims = (payload: string) => {
      const c = JSON.parse(payload).claims;
      return [c.hierarchy_role, c.points_aggregation_opt_in, c.tier, c.household_id === null];
    };
    return {
      periods: periods.map((r) => ({ ...strip(r), external_id: r.external_id.slice(p.length) })),
      tiers: tiers.map(strip),
      ledger: ledger.map(strip),
      jobs: jobs.map((j) => ({ ...strip(j), payload: claims(j.payload) })),
    };
  }

  test('moves, a pool split, a no-op, a consent change, a repeat and a new member', async () => {
    const db = ctx.hdb().db;
    await seed(db, 'x');
    await seed(db, 'y');
    const wants = (p: string) => [
      {
        customer_id: `cus_${p}1`,
        want: { household: { external_id: `${p}-G`, name: 'G2' }, role: 'member' as const, opt_in: true },
      },
      {
        customer_id: `cus_${p}2`,
        want: { household: { external_id: `${p}-H`, name: null }, role: 'member' as const, opt_in: true },
      },
      {
        customer_id: `cus_${p}3`,
        want: { household: { external_id: `${p}-G`, name: null }, role: 'head' as const, opt_in: true },
      },
      {
        customer_id: `cus_${p}4`,
        want: { household: { external_id: `${p}-N`, name: 'N' }, role: 'member' as const, opt_in: false },
      },
      {
        customer_id: `cus_${p}4`,
        want: { household: { external_id: `${p}-H`, name: null }, role: 'member' as const, opt_in: true },
      },
      { customer_id: `cus_${p}2`, want: { household: null, role: 'member' as const, opt_in: false } },
    ];
    const batch = await db
      .transaction()
      .execute((trx) => applyWantedMemberships(trx, 'hubspot', wants('x'), fx, cause, 5000));
    const single = await db.transaction().execute(async (trx) => {
      const out = [];
      for (const w of wants('y'))
        out.push(await applyWantedMembership(trx, 'hubspot', w.customer_id, w.want, fx, cause, 5000));
      return out;
    });
    const shape = (o: (typeof batch)[number]) => [o.changed, o.household_created, o.closed?.valid_to, o.opened?.role];
    assert.deepEqual(batch.map(shape), single.map(shape));
    assert.deepEqual(
      batch.map((o) => o.changed),
      [true, false, true, true, true, true],
    );
    const [a, b] = [await snapshot(db, 'x'), await snapshot(db, 'y')];
    assert.deepEqual(a, b);
    assert.ok(
      a.ledger.some((e) => e.kind === 'transfer' && e.points > 0),
      'member 1 took a share of the pool',
    );
    assert.deepEqual(
      (await db.selectFrom('households').select('name').where('external_id', 'in', ['x-G', 'y-G']).execute()).map(
        (h) => h.name,
      ),
      ['G2', 'G2'],
    );
  });
});
