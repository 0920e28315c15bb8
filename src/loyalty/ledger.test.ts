import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { HearthError } from '../errors.ts';
import { householdHistory } from '../households/membership-store.ts';
import { adjust } from './adjustment.ts';
import { expirePoints } from './expiry.ts';
import { applyMembershipChange } from '../flows/membership-change.ts';
import { attributedBalance, balanceOf, poolBalance } from './ledger-store.ts';
import { earnForOrder, reverseOrder } from './order-ledger.ts';
import { redeem } from './redemption.ts';
import { addCustomer, addHousehold, join, testSettings } from '../../test-support/loyalty-fixtures.ts';
import { tierOf } from './tier-store.ts';
import { reevaluateTiers } from '../flows/tiers.ts';

const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
const s = testSettings();

describeEachDialect('loyalty ledger', (ctx) => {
  const db = () => ctx.hdb().db;
  const order = (customer_id: string, ref: string, total: number, at: number) =>
    db()
      .transaction()
      .execute((trx) =>
        earnForOrder(
          trx,
          {
            source: 'shopify',
            order_ref: ref,
            order_name: `#${ref}`,
            customer_id,
            total_minor: total * 100,
            currency: 'USD',
            occurred_at: at,
          },
          at,
          s,
          { source: 'shopify', actor: 'connector:shopify' },
        ),
      );

  test('an individual earns on their own account; balances are sums; a repeated order earns once', async () => {
    const solo = await addCustomer(db(), 'solo@example.com', T0);
    const first = await order(solo, 'o-solo-1', 42.5, T0 + DAY);
    assert.equal(first.account_id, solo);
    assert.equal(first.points, 42);
    const again = await order(solo, 'o-solo-1', 42.5, T0 + DAY);
    assert.equal(again.entry, null);
    await order(solo, 'o-solo-2', 10, T0 + 2 * DAY);
    assert.equal(await balanceOf(db(), solo), 52);
  });

  test(
    'opted-in members credit the household pool with ' + 'individual attribution; a non-opted-in member earns alone',
    async () => {
      const hh = await addHousehold(db(), 'co-1', T0);
      const [a, b, c] = [
        await addCustomer(db(), 'a@example.com', T0),
        await addCustomer(db(), 'b@example.com', T0),
        await addCustomer(db(), 'c@example.com', T0),
      ];
      await join(db(), a, { household_id: hh, role: 'head', opt_in: true }, T0, s);
      await join(db(), b, { household_id: hh, role: 'member', opt_in: true }, T0, s);
      await join(db(), c, { household_id: hh, role: 'member', opt_in: false }, T0, s);
      await order(a, 'o-a-1', 60, T0 + DAY);
      await order(b, 'o-b-1', 50, T0 + DAY);
      const cRes = await order(c, 'o-c-1', 70, T0 + DAY);
      assert.equal(cRes.account_id, c);
      assert.equal(await poolBalance(db(), hh), 110);
      assert.equal(await attributedBalance(db(), hh, a), 60);
      assert.equal(await attributedBalance(db(), hh, b), 50);
      assert.equal(await balanceOf(db(), c), 70);
      assert.equal(await balanceOf(db(), a), 0);
    },
  );

  test(
    'combined spend lifts every opted-in member in one ' +
      're-evaluation; the non-opted-in member keeps their own tier',
    async () => {
      const hh = await addHousehold(db(), 'co-2', T0);
      const ids = [
        await addCustomer(db(), 'h2a@example.com', T0),
        await addCustomer(db(), 'h2b@example.com', T0),
        await addCustomer(db(), 'h2c@example.com', T0),
      ];
      const outsider = await addCustomer(db(), 'h2d@example.com', T0);
      for (const [i, id] of ids.entries())
        await join(db(), id, { household_id: hh, role: i === 0 ? 'head' : 'member', opt_in: true }, T0, s);
      await join(db(), outsider, { household_id: hh, role: 'member', opt_in: false }, T0, s);
      await order(ids[0]!, 'o-h2-1', 120, T0 + DAY);
      await order(ids[1]!, 'o-h2-2', 100, T0 + DAY);
      await order(outsider, 'o-h2-3', 150, T0 + DAY);
      const at = T0 + 2 * DAY;
      // Each alone would be silver at most; together (120 + 100 + 90) they pass 300.
      const changes = await db()
        .transaction()
        .execute(async (trx) => {
          await earnForOrder(
            trx,
            {
              source: 'shopify',
              order_ref: 'o-h2-4',
              order_name: null,
              customer_id: ids[2]!,
              total_minor: 9000,
              currency: 'USD',
              occurred_at: at,
            },
            at,
            s,
            { source: 'shopify', actor: 'test' },
          );
          return reevaluateTiers(
            trx,
            [ids[2]!],
            at,
            { ...s, idp: { idp_targets: ['scim'] }, webhook_targets: [{ name: 'loyalty', events: ['tier.changed'] }] },
            { source: 'test' },
          );
        });
      for (const id of ids) assert.equal(await tierOf(db(), id, at, s), 'gold');
      assert.equal(await tierOf(db(), outsider, at, s), 'silver');
      assert.deepEqual(
        changes
          .filter((c) => c.tier === 'gold')
          .map((c) => c.customer_id)
          .sort(),
        [...ids].sort(),
      );
      // The same transaction queued a tier.changed webhook and an identity-provider push per member.
      const jobs = await db()
        .selectFrom('jobs')
        .select(['target', 'kind', 'customer_id', 'payload'])
        .where('customer_id', 'in', ids)
        .where('created_at', '=', at)
        .execute();
      assert.deepEqual(
        jobs
          .filter((j) => j.target === 'webhook:loyalty')
          .map((j) => j.customer_id)
          .sort(),
        [...ids].sort(),
      );
      const pushes = jobs.filter((j) => j.target === 'scim');
      assert.deepEqual(pushes.map((j) => j.customer_id).sort(), [...ids].sort());
      assert.ok(
        pushes.every(
          (j) =>
            (JSON.parse(j.payload) as { claims: { tier: string; household_id: string } }).claims.household_id === hh,
        ),
      );
      // The rolling window: 31 days later the spend has aged out.
      assert.equal(await tierOf(db(), ids[0]!, at + 31 * DAY, s), 'member');
    },
  );

  test(
    'a cancellation reverses what the order earned, a refund ' +
      'pro rata, each once; the account of the order is debited',
    async () => {
      const x = await addCustomer(db(), 'refund@example.com', T0);
      await order(x, 'o-r-1', 200, T0 + DAY);
      const refund = await reverseOrder(
        db(),
        {
          source: 'shopify',
          order_ref: 'o-r-1',
          reason: 'refunded',
          refund_id: 'r1',
          amount_minor: 5000,
          occurred_at: T0 + 2 * DAY,
        },
        T0 + 2 * DAY,
        { source: 'shopify', actor: 't' },
      );
      assert.equal(refund?.points, -50);
      assert.equal(
        await reverseOrder(
          db(),
          {
            source: 'shopify',
            order_ref: 'o-r-1',
            reason: 'refunded',
            refund_id: 'r1',
            amount_minor: 5000,
            occurred_at: T0 + 2 * DAY,
          },
          T0 + 2 * DAY,
          { source: 'shopify', actor: 't' },
        ),
        null,
      );
      const cancel = await reverseOrder(
        db(),
        {
          source: 'shopify',
          order_ref: 'o-r-1',
          reason: 'cancelled',
          refund_id: null,
          amount_minor: null,
          occurred_at: T0 + 3 * DAY,
        },
        T0 + 3 * DAY,
        { source: 'shopify', actor: 't' },
      );
      assert.equal(cancel?.points, -150);
      assert.equal(await balanceOf(db(), x), 0);
      assert.equal(
        await reverseOrder(
          db(),
          {
            source: 'shopify',
            order_ref: 'no-such-order',
            reason: 'cancelled',
            refund_id: null,
            amount_minor: null,
            occurred_at: T0,
          },
          T0,
          { source: 'shopify', actor: 't' },
        ),
        null,
      );
    },
  );

  test('50 parallel redemptions against a pool that covers 10 yield exactly 10 successes', async () => {
    const hh = await addHousehold(db(), 'co-race', T0);
    const members = [
      await addCustomer(db(), 'race1@example.com', T0),
      await addCustomer(db(), 'race2@example.com', T0),
    ];
    for (const m of members) await join(db(), m, { household_id: hh, role: 'member', opt_in: true }, T0, s);
    await order(members[0]!, 'o-race-1', 1000, T0 + DAY);
    assert.equal(await poolBalance(db(), hh), 1000);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        redeem(db(), { customer_id: members[i % 2]!, points: 100, actor: 'test' }, T0 + 2 * DAY, s),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(ok.length, 10);
    assert.equal(refused.length, 40);
    assert.ok(
      refused.every((r) => r.reason instanceof HearthError && r.reason.code === 'conflict'),
      String(refused.find((r) => !(r.reason instanceof HearthError))?.reason),
    );
    assert.equal(await poolBalance(db(), hh), 0);
    const entries = await db()
      .selectFrom('ledger_entries')
      .select('id')
      .where('account_id', '=', hh)
      .where('kind', '=', 'redeem')
      .execute();
    assert.equal(entries.length, 10);
  });

  test(
    'household-level authorisation: outsiders, non-opted-in members ' +
      'and (head_only) plain members are refused, nothing written',
    async () => {
      const hh = await addHousehold(db(), 'co-auth', T0);
      const [head, member, shy, stranger] = [
        await addCustomer(db(), 'head@example.com', T0),
        await addCustomer(db(), 'mem@example.com', T0),
        await addCustomer(db(), 'shy@example.com', T0),
        await addCustomer(db(), 'str@example.com', T0),
      ];
      await join(db(), head, { household_id: hh, role: 'head', opt_in: true }, T0, s);
      await join(db(), member, { household_id: hh, role: 'member', opt_in: true }, T0, s);
      await join(db(), shy, { household_id: hh, role: 'member', opt_in: false }, T0, s);
      await order(member, 'o-auth-1', 100, T0 + DAY);
      const reason = async (p: Promise<unknown>) => {
        try {
          await p;
          return 'ok';
        } catch (e) {
          return `${(e as HearthError).code}:${(e as HearthError).details?.reason ?? ''}`;
        }
      };
      assert.equal(
        await reason(redeem(db(), { customer_id: stranger, account_id: hh, points: 1, actor: 't' }, T0 + DAY, s)),
        'forbidden:not_a_member',
      );
      assert.equal(
        await reason(redeem(db(), { customer_id: shy, account_id: hh, points: 1, actor: 't' }, T0 + DAY, s)),
        'forbidden:not_opted_in',
      );
      assert.equal(
        await reason(
          redeem(
            db(),
            { customer_id: member, points: 1, actor: 't' },
            T0 + DAY,
            testSettings({ redemption_authority: 'head_only' }),
          ),
        ),
        'forbidden:head_only',
      );
      assert.equal(
        await reason(redeem(db(), { customer_id: stranger, account_id: member, points: 1, actor: 't' }, T0 + DAY, s)),
        'forbidden:not_account_owner',
      );
      assert.equal(
        await reason(redeem(db(), { customer_id: head, points: 101, actor: 't' }, T0 + DAY, s)),
        'conflict:insufficient_points',
      );
      assert.equal(
        await reason(redeem(db(), { customer_id: 'cus_nobody', points: 1, actor: 't' }, T0 + DAY, s)),
        'not_found:',
      );
      assert.equal(await poolBalance(db(), hh), 100);
      assert.equal(
        await reason(
          redeem(
            db(),
            { customer_id: head, points: 40, actor: 't', idempotency_key: 'k1' },
            T0 + DAY,
            testSettings({ redemption_authority: 'head_only' }),
          ),
        ),
        'ok',
      );
      const replay = await redeem(
        db(),
        { customer_id: head, points: 40, actor: 't', idempotency_key: 'k1' },
        T0 + DAY,
        s,
      );
      assert.equal(replay.replayed, true);
      assert.equal(await poolBalance(db(), hh), 60);
      assert.equal(
        await reason(redeem(db(), { customer_id: head, points: 5, actor: 't', idempotency_key: 'k1' }, T0 + DAY, s)),
        'conflict:idempotency_key_reused',
        'the same key for another amount is refused',
      );
      assert.equal(
        await reason(redeem(db(), { customer_id: member, points: 40, actor: 't', idempotency_key: 'k1' }, T0 + DAY, s)),
        'ok',
        "another customer's key of the same name is their own",
      );
      assert.equal(await poolBalance(db(), hh), 20);
    },
  );

  test(
    'split policy stays_with_household: the pool keeps the balance, ' +
      'the split is a recorded transfer, later orders earn individually',
    async () => {
      const hh = await addHousehold(db(), 'co-stay', T0);
      const [p, q] = [
        await addCustomer(db(), 'stay1@example.com', T0),
        await addCustomer(db(), 'stay2@example.com', T0),
      ];
      await join(db(), p, { household_id: hh, role: 'head', opt_in: true }, T0, s);
      await join(db(), q, { household_id: hh, role: 'member', opt_in: true }, T0, s);
      await order(q, 'o-stay-1', 80, T0 + DAY);
      await join(db(), q, { household_id: hh, role: 'member', opt_in: false }, T0 + 2 * DAY, s);
      assert.equal(await poolBalance(db(), hh), 80);
      const transfers = await db()
        .selectFrom('ledger_entries')
        .selectAll()
        .where('kind', '=', 'transfer')
        .where('customer_id', '=', q)
        .execute();
      assert.equal(transfers.length, 1);
      assert.equal(Number(transfers[0]!.points), 0);
      const later = await order(q, 'o-stay-2', 30, T0 + 3 * DAY);
      assert.equal(later.account_id, q);
      // An order placed before the opt-out but arriving late still credits the pool (membership at order time).
      const late = await order(q, 'o-stay-0', 5, T0 + DAY + 1);
      assert.equal(late.account_id, hh);
    },
  );

  test(
    'split policy member_takes_share: the attributed ' + 'share moves as two transfer entries; history is kept',
    async () => {
      const take = testSettings({ split_policy: 'member_takes_share' });
      const hh = await addHousehold(db(), 'co-take', T0);
      const [p, q] = [
        await addCustomer(db(), 'take1@example.com', T0),
        await addCustomer(db(), 'take2@example.com', T0),
      ];
      await join(db(), p, { household_id: hh, role: 'head', opt_in: true }, T0, take);
      await join(db(), q, { household_id: hh, role: 'member', opt_in: true }, T0, take);
      await order(p, 'o-take-1', 100, T0 + DAY);
      await order(q, 'o-take-2', 70, T0 + DAY);
      await redeem(db(), { customer_id: q, points: 20, actor: 't' }, T0 + DAY, take);
      const before = await db()
        .selectFrom('ledger_entries')
        .selectAll()
        .where('account_id', '=', hh)
        .orderBy('id')
        .execute();
      await join(db(), q, null, T0 + 2 * DAY, take); // leaves the household
      assert.equal(await balanceOf(db(), q), 50);
      assert.equal(await poolBalance(db(), hh), 100);
      const after = await db()
        .selectFrom('ledger_entries')
        .selectAll()
        .where('account_id', '=', hh)
        .orderBy('id')
        .execute();
      assert.deepEqual(after.slice(0, before.length), before);
      assert.deepEqual(
        after.slice(before.length).map((e) => [e.kind, Number(e.points)]),
        [['transfer', -50]],
      );
      // The same change applied again (a replayed CRM event) moves nothing more.
      const closed = (await householdHistory(db(), hh)).find((m) => m.customer_id === q)!;
      await db()
        .transaction()
        .execute((trx) => applyMembershipChange(trx, { customer_id: q, closed }, T0 + 3 * DAY, take));
      assert.equal(await balanceOf(db(), q), 50);
      assert.equal(await poolBalance(db(), hh), 100);
    },
  );

  test(
    'expiry takes what was earned before the cutoff and not ' +
      'spent since, oldest first, once; adjustments never expire',
    async () => {
      const x = await addCustomer(db(), 'expire@example.com', T0);
      const exp = testSettings({ expire_after_ms: 90 * DAY });
      await order(x, 'o-exp-old', 100, T0 + DAY);
      await order(x, 'o-exp-old-refunded', 40, T0 + DAY);
      await reverseOrder(
        db(),
        {
          source: 'shopify',
          order_ref: 'o-exp-old-refunded',
          reason: 'cancelled',
          refund_id: null,
          amount_minor: null,
          occurred_at: T0 + 2 * DAY,
        },
        T0 + 2 * DAY,
        { source: 'shopify', actor: 't' },
      );
      await order(x, 'o-exp-new', 50, T0 + 95 * DAY);
      await redeem(db(), { customer_id: x, points: 30, actor: 't' }, T0 + 96 * DAY, exp);
      await adjust(db(), { account_id: x, points: 20, reason: 'goodwill', actor: 'k' }, T0 + 10 * DAY, exp);
      const now = T0 + 100 * DAY; // the cutoff is day 10: the 100 (and the cancelled 40) are old
      const first = await expirePoints(db(), now, exp);
      assert.ok(first.accounts_expired >= 1);
      const entries = await db()
        .selectFrom('ledger_entries')
        .select(['points'])
        .where('account_id', '=', x)
        .where('kind', '=', 'expire')
        .execute();
      assert.deepEqual(
        entries.map((e) => Number(e.points)),
        [-70],
      );
      assert.equal(await balanceOf(db(), x), 100 + 40 - 40 + 50 - 30 + 20 - 70);
      await expirePoints(db(), now, exp);
      assert.equal(
        (
          await db()
            .selectFrom('ledger_entries')
            .select('id')
            .where('account_id', '=', x)
            .where('kind', '=', 'expire')
            .execute()
        ).length,
        1,
      );
      await assert.rejects(expirePoints(db(), now, s), (e: HearthError) => e.code === 'invalid_config');
    },
  );

  test('manual adjustments carry actor and reason, feed the adjustment rate, and may not overdraw', async () => {
    const x = await addCustomer(db(), 'adj@example.com', T0);
    await order(x, 'o-adj-1', 10, T0 + DAY);
    const res = await adjust(
      db(),
      { account_id: x, points: 25, reason: 'goodwill', actor: 'key:support' },
      T0 + DAY,
      s,
    );
    assert.equal(res.balance, 35);
    assert.equal(res.entry.actor, 'key:support');
    assert.equal(res.entry.reason, 'goodwill');
    assert.ok(res.manual_adjustment_rate.entries > 0);
    const all = await db().selectFrom('ledger_entries').select('kind').execute();
    assert.equal(res.manual_adjustment_rate.adjustments, all.filter((e) => e.kind === 'adjust').length);
    assert.equal(res.manual_adjustment_rate.entries, all.length);
    assert.equal(res.manual_adjustment_rate.alert, res.manual_adjustment_rate.rate > 0.02);
    await assert.rejects(
      adjust(db(), { account_id: x, points: -36, reason: 'oops', actor: 'k' }, T0 + DAY, s),
      (e: HearthError) => e.code === 'conflict',
    );
    await assert.rejects(
      adjust(db(), { account_id: 'hh_missing', points: 5, reason: 'x', actor: 'k' }, T0 + DAY, s),
      (e: HearthError) => e.code === 'not_found',
    );
    assert.equal(await balanceOf(db(), x), 35);
  });
});

describeEachDialect('an order earned under its name by a backfill', (ctx) => {
  test('is not earned again when its webhook arrives later with the order id', async () => {
    const db = ctx.hdb().db;
    const who = await addCustomer(db, 'named@example.com', T0);
    const facts = {
      source: 'shopify',
      order_name: '#5150',
      customer_id: who,
      total_minor: 3000,
      currency: 'USD',
      occurred_at: T0,
    };
    const byName = await earnForOrder(db, { ...facts, order_ref: 'name:#5150' }, T0, s, {
      source: 'backfill',
      actor: 'cli:backfill',
    });
    assert.ok(byName.entry);
    const byId = await earnForOrder(db, { ...facts, order_ref: '5150001' }, T0 + 1, s, {
      source: 'shopify',
      actor: 'connector:shopify',
    });
    assert.equal(byId.entry, null);
    assert.equal(await balanceOf(db, who), 30);
  });
});
