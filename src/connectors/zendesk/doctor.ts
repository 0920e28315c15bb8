import type { ConnectorDeps } from '../connector.ts';
import { accessChecks, check, clockCheck, probe, type DoctorCheck, type DoctorContext } from '../common/doctor.ts';
import type { FetchLike } from '../common/http.ts';
import { scrubSecrets } from '../../log.ts';
import { apiRoot, type ZendeskConfig } from './index.ts';
import { USER_FIELD_DEFINITIONS, USER_FIELDS } from './mapping.ts';
import { answerOf, lazyZendeskSdk } from './sdk.ts';

const NEW_TOKEN = 'create an API token (Admin Center > Apps and integrations > Zendesk API) for connectors.zendesk';
const ADMIN = 'use an admin’s e-mail and token: listing and creating user fields needs an admin';
/** Offset pages of user fields read at most (100 a page): an account has far fewer. */
const MAX_PAGES = 20;

/** Reach, credentials, the user fields Hearth writes (created with `--fix`), webhook signing, clock skew. */
export async function zendeskDoctor(
  cfg: ZendeskConfig,
  ctx: DoctorContext,
  deps: ConnectorDeps,
): Promise<DoctorCheck[]> {
  const now = deps.now ?? Date.now;
  const root = apiRoot(cfg);
  const auth = { authorization: `Basic ${Buffer.from(`${cfg.email}/token:${cfg.api_token}`).toString('base64')}` };
  const first = await probe(deps, `${root}/user_fields.json`, auth);
  const checks = accessChecks('zendesk', first, NEW_TOKEN, ADMIN);
  if ('error' in first || first.status >= 400) return checks;
  checks.push(await fieldsCheck(cfg, auth, first.body, deps, ctx.fix === true));
  checks.push(
    check(
      'zendesk',
      'webhooks',
      'ok',
      'user events verified with the webhook signing secret; the webhook itself is created in Zendesk',
    ),
  );
  checks.push(clockCheck('zendesk', first.date, now));
  return checks;
}

/** The keys of every user field, following `next_page` from the first page's body. */
async function existingKeys(
  firstBody: string,
  auth: Record<string, string>,
  deps: ConnectorDeps,
): Promise<Set<string> | string> {
  const keys = new Set<string>();
  let body = firstBody;
  for (let page = 0; page < MAX_PAGES; page++) {
    const parsed = JSON.parse(body) as { user_fields?: { key?: string }[]; next_page?: string | null };
    for (const f of parsed.user_fields ?? []) if (f.key) keys.add(f.key);
    if (!parsed.next_page) return keys;
    const p = await probe(deps, parsed.next_page, auth);
    if ('error' in p) return p.error;
    if (p.status !== 200) return `HTTP ${p.status} reading user fields`;
    body = p.body;
  }
  return keys;
}

async function fieldsCheck(
  cfg: ZendeskConfig,
  auth: Record<string, string>,
  firstBody: string,
  deps: ConnectorDeps,
  fix: boolean,
): Promise<DoctorCheck> {
  let keys: Set<string> | string;
  try {
    keys = await existingKeys(firstBody, auth, deps);
  } catch {
    keys = 'the user fields answer is not JSON';
  }
  if (typeof keys === 'string') return check('zendesk', 'properties', 'warn', `could not list user fields: ${keys}`);
  const missing = USER_FIELDS.filter((k) => !keys.has(k));
  if (missing.length === 0) return check('zendesk', 'properties', 'ok', `user fields ${USER_FIELDS.join(', ')} exist`);
  if (!fix)
    return check(
      'zendesk',
      'properties',
      'fail',
      `missing user fields: ${missing.join(', ')} (agents do not see these values)`,
      'run `hearth doctor --fix`, or create them in Admin Center > People > Configuration > User fields',
    );
  // Created with node-zendesk's user fields API, over the doctor's fetch.
  const sdk = lazyZendeskSdk(
    { endpointUri: apiRoot(cfg), email: cfg.email, api_token: cfg.api_token, timeout_ms: 10_000 },
    deps.fetch ?? (globalThis.fetch as unknown as FetchLike),
  );
  const failed: string[] = [];
  // One at a time: an account's user-field endpoint is cheap, and the order agents see is kept.
  for (const key of missing) {
    const def = USER_FIELD_DEFINITIONS[key];
    const user_field = { key, type: def.type, title: def.title, description: 'Written by Hearth' };
    try {
      const res = await answerOf((await sdk()).userfields.create({ user_field }));
      if (res.status !== 201 && res.status !== 200) failed.push(`${key} (HTTP ${res.status})`);
    } catch (err) {
      failed.push(`${key} (${scrubSecrets((err as Error).message)})`);
    }
  }
  if (failed.length)
    return check('zendesk', 'properties', 'fail', `could not create user fields: ${failed.join(', ')}`, ADMIN);
  return check('zendesk', 'properties', 'ok', `created user fields ${missing.join(', ')} (--fix)`);
}
