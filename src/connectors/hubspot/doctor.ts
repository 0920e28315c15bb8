import type { ConnectorDeps } from '../connector.ts';
import {
  accessChecks,
  check,
  clockCheck,
  probe,
  tokenOrCheck,
  type DoctorCheck,
  type DoctorContext,
  type HouseholdModel,
} from '../common/doctor.ts';
import { hubspotCredential, type HubSpotConfig } from './index.ts';

/** The scopes Hearth's calls need (contacts read/write; property definitions for this check). */
export const HUBSPOT_SCOPES = ['crm.objects.contacts.read', 'crm.objects.contacts.write'] as const;
const REAUTH = 'install the app again and put the new refresh token in connectors.hubspot.oauth.refresh_token';
const NEW_TOKEN = 'create a new private-app access token (or use an OAuth app with a refresh token)';

/** Reach, credentials, granted scopes (OAuth apps), the opt-in property, webhook verification, clock skew. */
export async function hubspotDoctor(
  cfg: HubSpotConfig,
  ctx: DoctorContext,
  deps: ConnectorDeps,
): Promise<DoctorCheck[]> {
  const now = deps.now ?? Date.now;
  const base = cfg.base_url.replace(/\/$/, '');
  const token = await tokenOrCheck('hubspot', hubspotCredential(cfg, deps), cfg.oauth ? REAUTH : NEW_TOKEN);
  if (typeof token !== 'string') return [token];
  const auth = { authorization: `Bearer ${token}` };
  const first = await probe(deps, `${base}/crm/v3/objects/contacts?limit=1`, auth);
  const checks = accessChecks('hubspot', first, cfg.oauth ? REAUTH : NEW_TOKEN, `grant ${HUBSPOT_SCOPES.join(', ')}`);
  if ('error' in first || first.status === 401) return checks;
  checks.push(await scopesCheck(cfg, base, token, deps));
  checks.push(await propertyCheck(base, auth, ctx.opt_in_property, deps, ctx.fix === true));
  if (ctx.household_source === 'hubspot' && ctx.households)
    checks.push(await labelsCheck(base, auth, ctx.households, deps, ctx.fix === true));
  checks.push(
    cfg.client_secret
      ? check('hubspot', 'webhooks', 'ok', 'v3 signatures verified with the app secret; subscriptions live in the app')
      : check(
          'hubspot',
          'webhooks',
          'warn',
          'no client_secret: webhooks cannot be verified and are refused',
          'set connectors.hubspot.client_secret',
        ),
  );
  checks.push(clockCheck('hubspot', first.date, now));
  return checks;
}

async function scopesCheck(cfg: HubSpotConfig, base: string, token: string, deps: ConnectorDeps): Promise<DoctorCheck> {
  if (!cfg.oauth) return check('hubspot', 'scopes', 'skip', 'private app: scopes are shown in its settings only');
  const p = await probe(deps, `${base}/oauth/v1/access-tokens/${encodeURIComponent(token)}`, {});
  if ('error' in p || p.status !== 200) return check('hubspot', 'scopes', 'warn', 'could not read the granted scopes');
  const granted = new Set(((JSON.parse(p.body) as { scopes?: string[] }).scopes ?? []) as string[]);
  const missing = HUBSPOT_SCOPES.filter((s) => !granted.has(s));
  return missing.length
    ? check('hubspot', 'scopes', 'fail', `missing ${missing.join(', ')}`, 'add the scopes to the app and reinstall it')
    : check('hubspot', 'scopes', 'ok', `granted ${HUBSPOT_SCOPES.join(', ')}`);
}

async function propertyCheck(
  base: string,
  auth: Record<string, string>,
  name: string,
  deps: ConnectorDeps,
  fix: boolean,
): Promise<DoctorCheck> {
  const p = await probe(deps, `${base}/crm/v3/properties/contacts/${encodeURIComponent(name)}`, auth);
  if ('error' in p) return check('hubspot', 'properties', 'warn', p.error);
  if (p.status === 404 && fix) return createProperty(base, auth, name, deps);
  if (p.status === 404)
    return check(
      'hubspot',
      'properties',
      'fail',
      `contact property ${name} does not exist`,
      `create a single-checkbox contact property "${name}" (internal name ${name})`,
    );
  if (p.status >= 400)
    return check('hubspot', 'properties', 'warn', `could not read property ${name} (HTTP ${p.status})`);
  return check('hubspot', 'properties', 'ok', `contact property ${name} exists`);
}

/**
 * `--fix`: the opt-in property as HubSpot's single checkbox (an enumeration with true/false), in
 * the standard contact information group. Needs the `crm.schemas.contacts.write` scope.
 */
async function createProperty(
  base: string,
  auth: Record<string, string>,
  name: string,
  deps: ConnectorDeps,
): Promise<DoctorCheck> {
  const send = deps.fetch ?? (globalThis.fetch as unknown as NonNullable<ConnectorDeps['fetch']>);
  const body = {
    name,
    label: 'Points aggregation opt-in',
    description: 'Hearth: the member pools loyalty points with their household.',
    groupName: 'contactinformation',
    type: 'enumeration',
    fieldType: 'booleancheckbox',
    options: [
      { label: 'Yes', value: 'true', displayOrder: 0 },
      { label: 'No', value: 'false', displayOrder: 1 },
    ],
  };
  try {
    const res = await send(`${base}/crm/v3/properties/contacts`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    if (res.status === 201 || res.status === 200)
      return check('hubspot', 'properties', 'ok', `created contact property ${name} (--fix)`);
    return check(
      'hubspot',
      'properties',
      'fail',
      `could not create contact property ${name} (HTTP ${res.status})`,
      'grant crm.schemas.contacts.write, or create the single-checkbox property by hand',
    );
  } catch (err) {
    return check(
      'hubspot',
      'properties',
      'fail',
      `could not create contact property ${name}: ${(err as Error).message}`,
    );
  }
}

const LABELS_FIX =
  'run hearth doctor --fix (the app needs the scope to edit association labels), ' +
  'or create them in HubSpot settings: Objects > Contacts > Associations';

/**
 * The household association labels the config names (`households.head_labels`/`member_labels`):
 * on contact -> company in company mode (only head labels matter there: any associated contact is
 * a member), on contact -> contact in labelled-pair mode. With `--fix` the missing ones are
 * created through the v4 labels API, a head and a member label as one paired label.
 */
async function labelsCheck(
  base: string,
  auth: Record<string, string>,
  h: HouseholdModel,
  deps: ConnectorDeps,
  fix: boolean,
): Promise<DoctorCheck> {
  const pair = h.hubspot_mode === 'company' ? 'contacts/companies' : 'contacts/contacts';
  const wanted = h.hubspot_mode === 'company' ? [...h.head_labels] : [...h.head_labels, ...h.member_labels];
  if (wanted.length === 0) return check('hubspot', 'labels', 'skip', 'no household labels configured');
  const p = await probe(deps, `${base}/crm/v4/associations/${pair}/labels`, auth);
  if ('error' in p) return check('hubspot', 'labels', 'warn', p.error);
  if (p.status >= 400)
    return check('hubspot', 'labels', 'warn', `could not read the ${pair} association labels (HTTP ${p.status})`);
  const existing = new Set(
    ((JSON.parse(p.body) as { results?: { label?: string | null }[] }).results ?? []).flatMap((r) =>
      r.label ? [r.label.toLowerCase()] : [],
    ),
  );
  const has = (l: string) => existing.has(l.toLowerCase());
  const missing = wanted.filter((l) => !has(l));
  if (missing.length === 0)
    return check('hubspot', 'labels', 'ok', `association labels on ${pair}: ${wanted.join(', ')}`);
  if (fix) return createLabels(base, auth, pair, labelRequests(h, has), deps);
  // Heads are found through any one of the head labels: none at all means no household has a head.
  const usable = h.head_labels.some(has) && (h.hubspot_mode === 'company' || h.member_labels.some(has));
  return check(
    'hubspot',
    'labels',
    usable ? 'warn' : 'fail',
    `missing association labels on ${pair}: ${missing.join(', ')}`,
    LABELS_FIX,
  );
}

interface LabelRequest {
  label: string;
  name: string;
  inverseLabel?: string;
}

/** One request per missing label; in labelled-pair mode a missing head and member label form one paired label. */
export function labelRequests(h: HouseholdModel, has: (label: string) => boolean): LabelRequest[] {
  const name = (l: string) =>
    `hearth_${l
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_|_$/g, '')}`.slice(0, 100);
  const heads = h.head_labels.filter((l) => !has(l));
  if (h.hubspot_mode === 'company') return heads.map((l) => ({ label: l, name: name(l) }));
  const members = h.member_labels.filter((l) => !has(l));
  const out: LabelRequest[] = [];
  for (let i = 0; i < Math.max(heads.length, members.length); i++) {
    const [head, member] = [heads[i], members[i]];
    if (head && member) out.push({ label: head, name: name(head), inverseLabel: member });
    else if (head ?? member) out.push({ label: (head ?? member)!, name: name((head ?? member)!) });
  }
  return out;
}

async function createLabels(
  base: string,
  auth: Record<string, string>,
  pair: string,
  requests: LabelRequest[],
  deps: ConnectorDeps,
): Promise<DoctorCheck> {
  const send = deps.fetch ?? (globalThis.fetch as unknown as NonNullable<ConnectorDeps['fetch']>);
  const created: string[] = [];
  for (const r of requests) {
    const names = r.inverseLabel ? `${r.label} / ${r.inverseLabel}` : r.label;
    let status: number;
    try {
      const res = await send(`${base}/crm/v4/associations/${pair}/labels`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(r),
        signal: AbortSignal.timeout(10_000),
      });
      status = res.status;
    } catch (err) {
      return check('hubspot', 'labels', 'fail', `could not create label ${names}: ${(err as Error).message}`);
    }
    if (status >= 300) {
      const done = created.length ? ` (created ${created.join(', ')})` : '';
      return check('hubspot', 'labels', 'fail', `could not create label ${names} (HTTP ${status})${done}`, LABELS_FIX);
    }
    created.push(names);
  }
  return check('hubspot', 'labels', 'ok', `created association labels on ${pair}: ${created.join(', ')} (--fix)`);
}
