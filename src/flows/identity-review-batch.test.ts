import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEachDialect, linkOf, type DialectContext } from '../../test-support/dialects.ts';
import type { InboundEvent } from '../canonical/types.ts';
import { parseConfig } from '../config/loader.ts';
import { applyPendingEvents } from '../engine/apply-loop.ts';
import { storeDeliveries } from '../engine/inbox.ts';
import { engineContext } from '../runtime.ts';
import { createEventApplier } from './apply-events.ts';
import { T0, checkout, crmContact } from '../../test-support/ingest-events.ts';

async function ingest(ctx: DialectContext, connector: string, events: InboundEvent[]) {
  await storeDeliveries(ctx.hdb().db, connector, events, T0);
  const ectx = engineContext(parseConfig({ database: 'sqlite::memory:' }));
  const report = await applyPendingEvents(ctx.hdb(), createEventApplier(ectx), 100, () => T0 + 1000);
  assert.equal(report.failed, 0);
}

const BIRCH = { line1: '40 Birch Rd', city: 'Springfield', region: 'IL', postal_code: '62702', country: 'US' };
const ELM = { line1: '7 Elm St', city: 'Springfield', region: 'IL', postal_code: '62703', country: 'US' };

describeEachDialect('match reviews of one batch', (ctx) => {
  test('several uncertain matches in one batch each queue their own pending review, once', async () => {
    await ingest(ctx, 'hubspot', [
      crmContact('h-1', { given_name: 'Katherine', family_name: 'Doyle', email: 'kdoyle@example.com', address: BIRCH }),
      crmContact('h-2', {
        given_name: 'Maria',
        family_name: 'Lopez',
        email: 'maria.lopez@example.com',
        phone: '217-555-0199',
        address: ELM,
      }),
    ]);
    // Both checkouts in one batch: both are reviews (an uncertain score; conflicting identifiers).
    await ingest(ctx, 'shopify', [
      checkout(
        's-1',
        { given_name: 'Kate', family_name: 'Doyle', email: 'kate.d@example.org' },
        {
          ...BIRCH,
          line1: '40 Birch Road',
        },
      ),
      checkout(
        's-2',
        { given_name: 'Maria', family_name: 'Lopez', email: 'mlopez77@example.net', phone: '217-555-0123' },
        { ...ELM, line1: '7 Elm Street' },
      ),
    ]);
    const pairs = [
      [await linkOf(ctx, 'hubspot', 'h-1'), await linkOf(ctx, 'shopify', 's-1')],
      [await linkOf(ctx, 'hubspot', 'h-2'), await linkOf(ctx, 'shopify', 's-2')],
    ];
    const items = await ctx.hdb().db.selectFrom('review_items').selectAll().where('kind', '=', 'match').execute();
    assert.equal(items.length, 2);
    for (const [existing, incoming] of pairs) {
      assert.notEqual(existing, incoming);
      const item = items.find((i) => i.subject_key === [existing!, incoming!].sort().join('|'));
      assert.ok(item, `a review of ${existing} and ${incoming}`);
      assert.deepEqual(JSON.parse(item.customer_ids), [existing, incoming]);
      assert.equal(item.status, 'pending');
      assert.equal(item.source_system, 'shopify');
      assert.equal(item.created_at, T0 + 1000);
    }
    const maria = items.find((i) => i.subject_key.includes(pairs[1]![1]!))!;
    assert.equal((JSON.parse(maria.explanation!) as { guard: string }).guard, 'email_and_phone_differ');
    assert.equal((JSON.parse(maria.explanation!) as { model: string }).model, 'defaults');
    assert.ok(maria.event_id, 'the review names the event that raised it');
  });
});
