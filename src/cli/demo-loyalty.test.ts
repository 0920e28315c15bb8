import type { HearthConfig } from '../config/loader.ts';
import { loyaltySettings } from '../config/derive.ts';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { describeEachDialect } from '../../test-support/dialects.ts';
import type { Hearth } from '../runtime.ts';
import { ADMIN_KEY, eventually, SHOPIFY_SECRET, startTestHearth } from '../../test-support/harness.ts';
import { isQuiet } from '../engine/quiet.ts';
import { runLoyaltyDemo } from './demo-loyalty.ts';

describeEachDialect('the loyalty demo scenario', (ctx) => {
  let hearth: Hearth;
  let config: HearthConfig;
  before(async () => {
    ({ hearth, config } = await startTestHearth(ctx, { loyalty: { split_policy: 'member_takes_share' } }));
  });
  after(() => hearth.close());

  test(
    'combined spend lifts all three, the adjustment ' + 'survives the backfill, the opt-out splits the pool',
    async () => {
      const lines: string[] = [];
      const r = await runLoyaltyDemo(hearth, {
        shopify_secret: SHOPIFY_SECRET,
        api_key: ADMIN_KEY,
        settle: async () => {
          await eventually(() => isQuiet(ctx.hdb().db), 20_000, 'quiet');
        },
        write: (l) => lines.push(l),
        loyalty: loyaltySettings(config),
      });
      // Default tiers: silver from 500.00; 220 + 180 + 150 = 550 together, none alone.
      assert.deepEqual(Object.values(r.tiers), ['silver', 'silver', 'silver']);
      assert.equal(r.pool_after_orders, 550);
      assert.equal(r.adjustment_survived, true);
      assert.equal(r.backfill.already_credited.orders, 3);
      assert.deepEqual(
        [r.backfill.credited.orders, r.backfill.credited.points, r.backfill.credited.to_household_pools],
        [1, 30, 1],
      );
      assert.deepEqual(r.backfill.unrecoverable.no_linkable_customer, { orders: 1, amount: 42 });
      assert.deepEqual(r.backfill.unrecoverable.household_history_unknown, { orders: 1, amount: 95 });
      assert.deepEqual(
        { ...r.split, email: undefined },
        { email: undefined, policy: 'member_takes_share', pool_before: 605, pool_after: 455, member_balance: 150 },
      );
      assert.ok(lines.some((l) => l.includes('opts out')));
      const claimLines = lines.filter((l) => l.includes('identity claims for'));
      assert.equal(claimLines.length, 3, 'the claims endpoint answers for each member');
      for (const l of claimLines)
        assert.match(l, new RegExp(`household_id=${r.household_id} hierarchy_role=(head|member) tier=silver`));
      if (process.env.SHOW_DEMO) console.log(lines.join('\n'));
    },
  );
});
