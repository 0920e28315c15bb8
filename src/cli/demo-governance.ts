import type { Hearth } from '../runtime.ts';
import type { HubSpotSim } from '../../sim/hubspot.ts';
import { buildOrder, sendShopifyWebhook } from '../../sim/shopify.ts';
import { DEMO_PEOPLE } from './demo-people.ts';

export interface GovernanceDemo {
  shopify_secret: string;
  api_key: string;
  crm: HubSpotSim;
  settle(): Promise<void>;
  write(line: string): void;
}

/**
 * The steward's scene: a storefront bug imports a placeholder address for three customers; a dry
 * run lists what a revert would change, the revert restores them as new changes that reach the CRM;
 * then the CRM write-back goes to shadow mode and the report says what would have been written.
 */
export async function runGovernanceDemo(hearth: Hearth, d: GovernanceDemo): Promise<void> {
  try {
    await scene(hearth, d);
  } catch (err) {
    d.write(`  governance scene stopped: ${(err as Error).message}`);
  }
}

async function scene(hearth: Hearth, d: GovernanceDemo): Promise<void> {
  const api = async (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) => {
    const res = await fetch(`${hearth.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${d.api_key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const answer = (await res.json()) as any;
    // The walkthrough names a failed call instead of crashing on a missing field.
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${answer?.error?.message ?? ''}`);
    return answer;
  };
  const order = (i: number, id: number, address1: string) => {
    const p = DEMO_PEOPLE[i]!;
    return buildOrder({
      order_id: id,
      customer_id: 7000 + i,
      email: p.email,
      first_name: p.first_name,
      last_name: p.last_name,
      ...p.checkout,
      address1,
      address2: null,
    });
  };
  const send = (o: unknown) =>
    sendShopifyWebhook(`${hearth.url}/webhooks/shopify`, 'orders/create', o, d.shopify_secret);
  const crmLine1 = (email: string) =>
    d.crm.listContacts().find((c) => c.properties.email === email)?.properties.address ?? '(none)';

  d.write('\nGovernance: a bad import, reverted');
  const since = new Date().toISOString();
  for (const i of [0, 1, 2]) await send(order(i, 9001 + i, '1 Placeholder Street'));
  await d.settle();
  d.write(
    `  A storefront bug shipped 3 orders to "1 Placeholder Street"; ` +
      `the CRM now has "${crmLine1(DEMO_PEOPLE[0]!.email)}".`,
  );
  const dry = await api('POST', '/v1/revert', { source: 'shopify', since, dry_run: true });
  d.write(
    `  hearth revert --source shopify --since ${since} --dry-run: ${dry.steps.length} field(s) would go back, e.g.`,
  );
  for (const s of dry.steps.slice(0, 2))
    d.write(`    ${s.customer_id} ${s.field}: ${JSON.stringify(s.from)} -> ${JSON.stringify(s.to)}`);
  const done = await api('POST', '/v1/revert', { source: 'shopify', since, dry_run: false });
  await d.settle();
  d.write(
    `  Reverted as ${done.id} (${done.steps.length} changes, ${done.jobs} jobs): the CRM has ` +
      `"${crmLine1(DEMO_PEOPLE[0]!.email)}" again; the history keeps both, and the revert can itself be reverted.`,
  );

  d.write('\nGovernance: shadow mode for the CRM write-back');
  await api('PUT', '/v1/flags/writeback.hubspot', { value: 'shadow', reason: 'demo: try before writing' });
  for (const i of [0, 1]) await send(order(i, 9101 + i, `${40 + i} Harbor Road`));
  await d.settle();
  const report = await api('GET', '/v1/shadow/report?connector=hubspot');
  for (const t of report.data) {
    d.write(`  ${t.target}: ${t.writes} write(s) held, nothing sent:`);
    for (const l of t.lines) d.write(`    ${l}`);
  }
  const on = await api('PUT', '/v1/flags/writeback.hubspot', { value: 'on', reason: 'demo: report reviewed' });
  await d.settle();
  d.write(
    `  Shadow off: ${on.released?.sent ?? 0} write(s) sent (newest per contact, only if still different), ` +
      `${on.released?.dropped ?? 0} dropped. Flag history: GET /v1/flags/changes.`,
  );
}
