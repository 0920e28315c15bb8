import { check, type DoctorCheck, type DoctorContext } from '../common/doctor.ts';
import { HearthError } from '../../errors.ts';
import { createAdminClient } from './admin.ts';
import type { ShopifyConfig } from './index.ts';

/** The webhook topics Hearth parses (`index.ts`), as the Admin API names them. */
export const SHOPIFY_TOPICS = [
  'ORDERS_CREATE',
  'ORDERS_CANCELLED',
  'REFUNDS_CREATE',
  'CUSTOMERS_CREATE',
  'CUSTOMERS_UPDATE',
] as const;

const STATE = `query doctor {
  shop { name }
  currentAppInstallation { accessScopes { handle } }
  webhookSubscriptions(first: 100) {
    nodes { id topic endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } }
  }
}`;
const CREATE = `mutation subscribe($topic: WebhookSubscriptionTopic!, $url: URL!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: { callbackUrl: $url, format: JSON }) {
    webhookSubscription { id } userErrors { field message } } }`;

interface State {
  shop: { name: string };
  currentAppInstallation: { accessScopes: { handle: string }[] };
  webhookSubscriptions: { nodes: { id: string; topic: string; endpoint: { callbackUrl?: string } | null }[] };
}

/**
 * With `connectors.shopify.admin`: the token works (reach, credentials), the app holds the scopes
 * Hearth's reads and writes need, and the store sends each webhook topic Hearth parses to
 * `admin.webhook_url`; `--fix` creates the missing subscriptions. Without `admin`, one skip.
 */
export async function shopifyDoctor(cfg: ShopifyConfig, ctx: DoctorContext): Promise<DoctorCheck[]> {
  const admin = cfg.admin;
  if (!admin)
    return [check('shopify', 'webhooks', 'skip', 'no Admin API configured: webhook subscriptions are not checked')];
  const client = createAdminClient(admin);
  let state: State;
  try {
    state = await client.graphql<State>(STATE, undefined, 5);
  } catch (err) {
    const kind = err instanceof HearthError ? err.details?.kind : undefined;
    return kind === 'auth'
      ? [
          check(
            'shopify',
            'credentials',
            'fail',
            (err as Error).message,
            'install the app again; put its Admin API token in connectors.shopify.admin.access_token',
          ),
        ]
      : [check('shopify', 'reachable', 'fail', (err as Error).message)];
  }
  const checks = [
    check('shopify', 'reachable', 'ok', `shop ${state.shop.name}`),
    check('shopify', 'credentials', 'ok', 'an Admin API read with the token worked'),
  ];
  const granted = new Set(state.currentAppInstallation.accessScopes.map((s) => s.handle));
  const needed = ['read_orders', 'read_customers', ...(admin.address_writeback ? ['write_customers'] : [])];
  const missing = needed.filter((s) => !granted.has(s) && !granted.has(s.replace(/^read_/, 'write_')));
  checks.push(
    missing.length
      ? check(
          'shopify',
          'scopes',
          'fail',
          `missing ${missing.join(', ')}`,
          'add the scopes to the app and reinstall it',
        )
      : check('shopify', 'scopes', 'ok', `granted ${needed.join(', ')}`),
  );
  checks.push(await webhooksCheck(client, admin.webhook_url, state, ctx.fix === true));
  return checks;
}

async function webhooksCheck(
  client: ReturnType<typeof createAdminClient>,
  url: string | undefined,
  state: State,
  fix: boolean,
): Promise<DoctorCheck> {
  if (!url)
    return check(
      'shopify',
      'webhooks',
      'warn',
      'admin.webhook_url is not set: subscriptions cannot be checked',
      'set connectors.shopify.admin.webhook_url to https://<host>/webhooks/shopify',
    );
  const live = new Set(
    state.webhookSubscriptions.nodes.filter((n) => n.endpoint?.callbackUrl === url).map((n) => n.topic),
  );
  const missing = SHOPIFY_TOPICS.filter((t) => !live.has(t));
  if (missing.length && fix) {
    const failed: string[] = [];
    for (const topic of missing) {
      const res = await client
        .graphql<{ webhookSubscriptionCreate: { userErrors: { message: string }[] } }>(CREATE, { topic, url }, 10)
        .catch((err: Error) => ({ webhookSubscriptionCreate: { userErrors: [{ message: err.message }] } }));
      if (res.webhookSubscriptionCreate.userErrors.length)
        failed.push(`${topic}: ${res.webhookSubscriptionCreate.userErrors[0]!.message}`);
    }
    if (!failed.length) return check('shopify', 'webhooks', 'ok', `created ${missing.join(', ')} → ${url} (--fix)`);
    return check('shopify', 'webhooks', 'fail', `could not subscribe ${failed.join('; ')}`, "grant the topics' scopes");
  }
  return missing.length
    ? check(
        'shopify',
        'webhooks',
        'fail',
        `not subscribed to ${url}: ${missing.join(', ')}`,
        'run hearth doctor --fix, or subscribe them (JSON) in the app settings',
      )
    : check('shopify', 'webhooks', 'ok', `${SHOPIFY_TOPICS.length} topics subscribed to ${url}`);
}
