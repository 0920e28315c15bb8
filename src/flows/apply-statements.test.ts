import { ledgerConfig, writebackConfig } from '../../test-support/engine-configs.ts';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { addCustomer, addHousehold, join } from '../../test-support/loyalty-fixtures.ts';
import { countingDb } from '../../test-support/statement-count.ts';
import type { CanonicalEvent } from '../canonical/types.ts';
import { loyaltySettings } from '../config/derive.ts';
import type { HearthDb } from '../db/database.ts';
import { applyPendingEvents } from '../engine/apply-loop.ts';
import { insertEvents } from '../engine/inbox.ts';
import { createEventApplier } from './apply-events.ts';
import type { EngineContext } from './context.ts';
import { engineContext } from './engine-context.ts';

/**
 * Statements (round trips) per applied event at batch size 1, the engine's worst case (issue #14):
 * a ceiling per scenario, so a change that adds a read or a write per event shows here. BEGIN and
 * COMMIT are not counted; PostgreSQL adds the batch's advisory lock. bench/statements.ts prints the
 * figures per statement.
 */
const N = 6;

const engineConfig = writebackConfig();
const loyaltyConfig = ledgerConfig();

function checkout(tag: string, i: number, street: string): CanonicalEvent {
  return {
    type: 'checkout.address_confirmed',
    source: 'shopify',
    external_id: `${tag}-${i}`,
    order_id: `#${tag}${i}`,
    occurred_at: 1_000,
    contact: { given_name: 'Ana', family_name: `${tag}${i}`, email: `${tag}${i}@example.com`, phone: null },
    address: {
      line1: `${i + 1} ${street}`,
      line2: null,
      city: 'Springfield',
      region: 'IL',
      postal_code: '62701',
      country: 'US',
    },
  };
}

/** Applies the events one per batch; returns statements per event (the drain's last, empty round left out). */
async function perEvent(hdb: HearthDb, ctx: EngineContext, events: CanonicalEvent[]): Promise<number> {
  const tag = Math.random().toString(36).slice(2, 8);
  await insertEvents(
    hdb.db,
    'test',
    events.map((event, i) => ({ delivery_id: `${tag}-${i}`, event })),
    1_000,
  );
  const counting = countingDb(hdb);
  let applied = 0;
  for (;;) {
    const r = await applyPendingEvents(counting.hdb, createEventApplier(ctx), 1, () => 2_000);
    if (r.outcomes.length === 0) break;
    assert.equal(r.applied, 1, JSON.stringify(r.outcomes));
    applied++;
  }
  assert.equal(applied, events.length);
  const emptyRound = hdb.caps.skipLocked ? 2 : 1;
  return (counting.counter.total - emptyRound) / applied;
}

describeEachDialect('apply: statements per event at batch size 1', (ctx, dialect) => {
  const lock = dialect === 'postgres' ? 1 : 0;
  const count = async (table: 'customers' | 'jobs' | 'identity_keys' | 'ledger_entries') =>
    Number(
      (
        await ctx
          .hdb()
          .db.selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  test('a checkout from a new customer', async () => {
    const [customers, jobs, keys] = [await count('customers'), await count('jobs'), await count('identity_keys')];
    const per = await perEvent(
      ctx.hdb(),
      engineContext(engineConfig),
      Array.from({ length: N }, (_, i) => checkout('new', i, 'Main Street')),
    );
    assert.equal((await count('customers')) - customers, N);
    // The CRM write-back and the webhook per event; blocking keys (email, address, name + postcode).
    assert.equal((await count('jobs')) - jobs, 2 * N);
    assert.equal((await count('identity_keys')) - keys, 3 * N);
    assert.ok(per <= 11 + lock, `${per} statements per event`);
  });

  test('a checkout moving an existing customer', async () => {
    const ctxE = engineContext(engineConfig);
    await perEvent(
      ctx.hdb(),
      ctxE,
      Array.from({ length: N }, (_, i) => checkout('old', i, 'Elm Street')),
    );
    const [customers, jobs] = [await count('customers'), await count('jobs')];
    const per = await perEvent(
      ctx.hdb(),
      ctxE,
      Array.from({ length: N }, (_, i) => checkout('old', i, 'Oak Avenue')),
    );
    assert.equal(await count('customers'), customers);
    assert.equal((await count('jobs')) - jobs, 2 * N);
    const superseded = await ctx
      .hdb()
      .db.selectFrom('jobs')
      .select('id')
      .where('kind', '=', 'crm.address_write')
      .where('status', '=', 'superseded')
      .execute();
    // Each customer's first write-back is superseded by the move (a new customer's supersedes nothing).
    assert.equal(superseded.length, N);
    assert.ok(per <= 10 + lock, `${per} statements per event`);
  });

  test('an order from a member of a household of five', async () => {
    const db = ctx.hdb().db;
    const s = loyaltySettings(loyaltyConfig);
    const hh = await addHousehold(db, 'stmt-hh', 1_000);
    for (let k = 0; k < 5; k++) {
      const id = await addCustomer(db, `stmt${k}@bench.example`, 1_000);
      await join(db, id, { household_id: hh, role: k === 0 ? 'head' : 'member', opt_in: true }, 1_000, s);
    }
    const earned = await count('ledger_entries');
    const per = await perEvent(
      ctx.hdb(),
      engineContext(loyaltyConfig),
      Array.from({ length: N }, (_, i) => ({
        type: 'order.placed' as const,
        source: 'shopify',
        external_id: null,
        order_id: `stmt-${i}`,
        order_name: `#stmt-${i}`,
        contact: { email: `stmt${i % 5}@bench.example` },
        total_minor: 5_000,
        currency: 'USD',
        line_count: 1,
        occurred_at: 1_500,
      })),
    );
    assert.equal((await count('ledger_entries')) - earned, N);
    assert.ok(per <= 8 + lock, `${per} statements per event`);
  });
});
