import { stringify } from 'csv-stringify/sync';
import { buildOrder, sendShopifyWebhook, signShopifyDelivery } from '../../sim/shopify.ts';
import { householdMembersAt, membershipAt, setMembership, upsertHousehold } from '../households/membership-store.ts';
import type { HubSpotSim } from '../../sim/hubspot.ts';
import type { Hearth } from '../runtime.ts';
import { backfillOrders, type BackfillReport } from '../flows/backfill.ts';
import { balanceOf, poolBalance } from '../loyalty/ledger-store.ts';
import { applyMembershipChange } from '../flows/membership-change.ts';
import { readOrdersExport } from '../loyalty/orders-csv.ts';
import type { LoyaltySettings } from '../loyalty/settings.ts';
import { tierOf } from '../loyalty/tier-store.ts';
import { tierFor, toMinor } from '../loyalty/tiers.ts';

export interface LoyaltyDemoOptions {
  shopify_secret: string;
  /** An operator or admin key (the manual adjustment goes through the API). */
  api_key: string;
  /** Waits until the inbox is applied and the outbox is idle. */
  settle: () => Promise<void>;
  write: (line: string) => void;
  /** The running Hearth's loyalty settings (from its config). */
  loyalty: LoyaltySettings;
  /** The opt-out goes through `PUT /v1/customers/:id/household-opt-in` (written back to the household CRM). */
  opt_out_through_api?: boolean;
}

export interface LoyaltyDemoResult {
  household_id: string;
  tiers: Record<string, string | null>;
  pool_after_orders: number;
  adjustment_id: string;
  adjustment_survived: boolean;
  backfill: BackfillReport;
  split: { email: string; policy: string; pool_before: number; pool_after: number; member_balance: number };
}

/**
 * The Okafor household as the CRM keeps it (HubSpot company-as-household, Ada the head, all three
 * opted in to points pooling), for a demo whose households come from the simulated HubSpot.
 */
export function seedLoyaltyHousehold(crm: HubSpotSim): void {
  const company = crm.households.createCompany('Okafor household');
  for (const p of PEOPLE) {
    const id = crm.createContact({
      email: p.email,
      firstname: p.first,
      lastname: 'Okafor',
      address: '41 Birch Lane',
      city: 'Evanston',
      state: 'IL',
      zip: '60201',
      country: 'US',
      points_aggregation_opt_in: 'true',
    });
    crm.households.associateCompany(id, company, {
      primary: true,
      ...(p.role === 'head' ? { label: 'Head of household' } : {}),
    });
  }
}

const PEOPLE = [
  { email: 'ada.okafor@example.com', first: 'Ada', role: 'head' as const, total: '220.00', shopify_id: 81001 },
  { email: 'ben.okafor@example.com', first: 'Ben', role: 'member' as const, total: '180.00', shopify_id: 81002 },
  { email: 'chi.okafor@example.com', first: 'Chi', role: 'member' as const, total: '150.00', shopify_id: 81003 },
];

/**
 * The loyalty part of `hearth demo`: a household of three whose combined spend lifts all three
 * to a higher tier than any reaches alone; a manual adjustment that survives a later backfill of
 * the same orders; an opt-out split under the configured policy. Drives Hearth through its
 * webhooks and API where it can; the household itself is set up directly when no CRM gave one.
 */
export async function runLoyaltyDemo(hearth: Hearth, o: LoyaltyDemoOptions): Promise<LoyaltyDemoResult> {
  const db = hearth.hdb.db;
  const ids = await ensureCustomers(hearth, o);
  const household = await ensureHousehold(hearth, ids, o.loyalty);
  o.write(`\nLoyalty: the Okafor household (${household}) pools points; each member orders once.`);
  for (const [i, p] of PEOPLE.entries()) {
    const order = buildOrder({
      order_id: 8100 + i,
      customer_id: p.shopify_id,
      email: p.email,
      first_name: p.first,
      last_name: 'Okafor',
      address1: '41 Birch Lane',
      city: 'Evanston',
      province_code: 'IL',
      zip: '60201',
      total_price: p.total,
    });
    await sendShopifyWebhook(
      `${hearth.url}/webhooks/shopify`,
      'orders/create',
      order,
      o.shopify_secret,
      `demo-loyalty-${8100 + i}`,
    );
  }
  await o.settle();
  const tiers: Record<string, string | null> = {};
  for (const p of PEOPLE) tiers[p.email] = await tierOf(db, ids[p.email]!, Date.now(), o.loyalty);
  const pool = await poolBalance(db, household);
  for (const p of PEOPLE)
    o.write(
      `  ${p.email.padEnd(26)} spent ${p.total.padStart(7)} (alone: ${tierFor(toMinor(p.total)!, o.loyalty.tiers)}) ` +
        `-> tier ${tiers[p.email]} with the household (pool ${pool} points)`,
    );

  for (const p of PEOPLE) {
    const claims = await hearth.app.inject({
      method: 'GET',
      url: `/v1/identity/claims?email=${encodeURIComponent(p.email)}`,
      headers: { authorization: `Bearer ${o.api_key}` },
    });
    const c = claims.json() as { household_id: string; hierarchy_role: string; tier: string };
    o.write(
      `  identity claims for ${p.email.padEnd(24)} household_id=${c.household_id} ` +
        `hierarchy_role=${c.hierarchy_role} tier=${c.tier}`,
    );
  }

  const adjustment = await hearth.app.inject({
    method: 'POST',
    url: '/v1/loyalty/adjustments',
    headers: { authorization: `Bearer ${o.api_key}` },
    payload: {
      account_id: household,
      customer_id: ids[PEOPLE[1]!.email],
      points: 25,
      reason: 'support: goodwill for a late parcel',
    },
  });
  const adjustmentId = (adjustment.json() as { entry: { id: string } }).entry.id;
  o.write(
    `  support adds 25 points by hand (${adjustmentId}); manual-adjustment rate ` +
      `${(adjustment.json() as { manual_adjustment_rate: { rate: number } }).manual_adjustment_rate.rate.toFixed(3)}`,
  );

  const backfill = await backfillOrders(
    db,
    readOrdersExport(exportOf((await membershipAt(db, ids[PEOPLE[0]!.email]!))!.valid_from), 'demo-orders.csv'),
    Date.now(),
    o.loyalty,
    'shopify',
  );
  const survived = Boolean(
    await db
      .selectFrom('ledger_entries')
      .select('id')
      .where('id', '=', adjustmentId)
      .where('kind', '=', 'adjust')
      .executeTakeFirst(),
  );
  o.write(
    `  nightly backfill of the orders export: ${backfill.credited.orders} credited, ` +
      `${backfill.already_credited.orders} already in the ledger, ` +
      `unrecoverable ${backfill.unrecoverable.total.orders} orders / ` +
      `${backfill.unrecoverable.total.amount.toFixed(2)} ` +
      `(no linkable customer ${backfill.unrecoverable.no_linkable_customer.orders}, ` +
      `household history unknown ${backfill.unrecoverable.household_history_unknown.orders}); ` +
      `the manual adjustment ${survived ? 'is still there' : 'was LOST'}`,
  );

  const split = o.opt_out_through_api
    ? await optOutThroughApi(hearth, o.api_key, household, ids[PEOPLE[2]!.email]!, PEOPLE[2]!.email, o.loyalty)
    : await optOut(hearth, household, ids[PEOPLE[2]!.email]!, PEOPLE[2]!.email, o.loyalty);
  o.write(
    `  ${split.email} opts out (policy ${split.policy}): pool ${split.pool_before} -> ${split.pool_after} points, ` +
      `their own account ${split.member_balance}; history kept as transfer entries`,
  );
  return {
    household_id: household,
    tiers,
    pool_after_orders: pool,
    adjustment_id: adjustmentId,
    adjustment_survived: survived,
    backfill,
    split,
  };
}

/** The three customers, created through the storefront's customers/create webhook if Hearth does not know them. */
async function ensureCustomers(hearth: Hearth, o: LoyaltyDemoOptions): Promise<Record<string, string>> {
  for (const p of PEOPLE) {
    const d = signShopifyDelivery(
      'customers/create',
      {
        id: p.shopify_id,
        email: p.email,
        first_name: p.first,
        last_name: 'Okafor',
        phone: null,
        updated_at: new Date().toISOString(),
      },
      o.shopify_secret,
      `demo-loyalty-customer-${p.shopify_id}`,
    );
    await fetch(`${hearth.url}/webhooks/shopify`, { method: 'POST', headers: d.headers, body: d.body });
  }
  await o.settle();
  const rows = await hearth.hdb.db
    .selectFrom('customers')
    .select(['id', 'email_normalized'])
    .where(
      'email_normalized',
      'in',
      PEOPLE.map((p) => p.email),
    )
    .where('merged_into', 'is', null)
    .execute();
  return Object.fromEntries(rows.map((r) => [r.email_normalized!, r.id]));
}

/** Their household as the CRM set it up, or (no CRM in this run) a demo household, all opted in. */
async function ensureHousehold(hearth: Hearth, ids: Record<string, string>, s: LoyaltySettings): Promise<string> {
  const db = hearth.hdb.db;
  const existing = await membershipAt(db, ids[PEOPLE[0]!.email]!);
  if (existing) return existing.household_id;
  const at = Date.now() - 60_000;
  return db.transaction().execute(async (trx) => {
    const hh = await upsertHousehold(trx, 'demo', 'okafor', 'Okafor household', at);
    for (const p of PEOPLE) {
      const change = await setMembership(
        trx,
        ids[p.email]!,
        { household_id: hh, role: p.role, opt_in: true, source_system: 'demo' },
        at,
      );
      await applyMembershipChange(trx, { customer_id: ids[p.email]!, ...change }, at, s);
    }
    return hh;
  });
}

/**
 * The export the old nightly script would replay: the three orders Hearth already earned, one
 * it never saw (a webhook lost before Hearth), a guest order, and one from before the household existed.
 */
function exportOf(householdKnownSince: number): string {
  const header = [
    'Name',
    'Email',
    'Financial Status',
    'Currency',
    'Total',
    'Created at',
    'Lineitem quantity',
    'Lineitem name',
    'Id',
  ];
  const at = (d: Date) =>
    d
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, ' +0000');
  const now = new Date();
  const rows = PEOPLE.map((p, i) => [
    `#${8100 + i}`,
    p.email,
    'paid',
    'USD',
    p.total,
    at(now),
    '1',
    'Serum',
    String(8100 + i),
  ]);
  // After Hearth learned the household (the export's times are whole seconds), before these orders.
  rows.push([
    '#8050',
    PEOPLE[1]!.email,
    'paid',
    'USD',
    '30.00',
    at(new Date(Math.max(householdKnownSince + 1000, now.getTime() - 30_000))),
    '1',
    'Lotion',
    '8050',
  ]);
  rows.push(['#7001', 'guest.checkout@example.com', 'paid', 'USD', '42.00', at(now), '1', 'Soap', '7001']);
  rows.push([
    '#6001',
    PEOPLE[0]!.email,
    'paid',
    'USD',
    '95.00',
    at(new Date(now.getTime() - 400 * 86_400_000)),
    '1',
    'Candle',
    '6001',
  ]);
  return stringify([header, ...rows]);
}

/** The operator records the opt-out in Hearth; Hearth writes it back to the CRM, which stays the record. */
async function optOutThroughApi(
  hearth: Hearth,
  apiKey: string,
  household: string,
  customerId: string,
  email: string,
  s: LoyaltySettings,
): Promise<LoyaltyDemoResult['split']> {
  const db = hearth.hdb.db;
  const pool_before = await poolBalance(db, household);
  const res = await hearth.app.inject({
    method: 'PUT',
    url: `/v1/customers/${customerId}/household-opt-in`,
    headers: { authorization: `Bearer ${apiKey}` },
    payload: { opt_in: false },
  });
  if (res.statusCode !== 200) throw new Error(`opt-out failed: ${res.body}`);
  return {
    email,
    policy: s.split_policy,
    pool_before,
    pool_after: await poolBalance(db, household),
    member_balance: await balanceOf(db, customerId),
  };
}

async function optOut(
  hearth: Hearth,
  household: string,
  customerId: string,
  email: string,
  s: LoyaltySettings,
): Promise<LoyaltyDemoResult['split']> {
  const db = hearth.hdb.db;
  const pool_before = await poolBalance(db, household);
  const now = Date.now();
  const current = (await householdMembersAt(db, household)).find((m) => m.customer_id === customerId)!;
  await db.transaction().execute(async (trx) => {
    const change = await setMembership(
      trx,
      customerId,
      { household_id: household, role: current.role, opt_in: false, source_system: 'demo' },
      now,
    );
    await applyMembershipChange(trx, { customer_id: customerId, ...change }, now, s);
  });
  return {
    email,
    policy: s.split_policy,
    pool_before,
    pool_after: await poolBalance(db, household),
    member_balance: await balanceOf(db, customerId),
  };
}
