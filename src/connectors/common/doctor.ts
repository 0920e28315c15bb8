import type { ConnectorDeps, ConnectorDescriptor } from '../connector.ts';
import { scrubSecrets } from '../../log.ts';
import { credentialFailure, type Credential } from './credentials.ts';
import type { FetchLike } from './http.ts';

import type { CheckName, CheckStatus, DoctorCheck, DoctorContext, HouseholdModel } from './doctor-check.ts';

export type { CheckName, CheckStatus, DoctorCheck, DoctorContext, HouseholdModel };

const CLOCK_SKEW_WARN_MS = 60_000;

/** The parts of a validated config the doctor reads. */
export interface DoctorConfig {
  descriptors: readonly ConnectorDescriptor<string, any>[];
  connectors: Record<string, unknown>;
  households: ({ source: string; opt_in_property: string } & Partial<HouseholdModel>) | null;
}

/** The checks of every configured connector, with the context the rest of the config gives. */
export function diagnoseConfig(config: DoctorConfig, deps: ConnectorDeps, fix = false): Promise<DoctorCheck[]> {
  const ctx = {
    opt_in_property: config.households?.opt_in_property ?? 'points_aggregation_opt_in',
    household_source: config.households?.source ?? null,
    households: config.households ? householdModel(config.households) : undefined,
    fix,
  };
  return diagnose(config.descriptors, config.connectors, ctx, deps);
}

function householdModel(h: Partial<HouseholdModel>): HouseholdModel {
  return {
    hubspot_mode: h.hubspot_mode ?? 'company',
    head_labels: h.head_labels ?? [],
    member_labels: h.member_labels ?? [],
  };
}

/** Runs the checks of every configured connector that has them (in parallel; each check bounded by a timeout). */
export async function diagnose(
  descriptors: readonly ConnectorDescriptor<string, any>[],
  cfg: Record<string, unknown>,
  ctx: DoctorContext,
  deps: ConnectorDeps,
): Promise<DoctorCheck[]> {
  const runs = descriptors
    .filter((d) => cfg[d.name] !== undefined && cfg[d.name] !== null && d.doctor)
    .map((d) =>
      d.doctor!(cfg[d.name], ctx, deps).catch((err: unknown): DoctorCheck[] => [
        check(d.name, 'reachable', 'fail', scrubSecrets(String((err as Error).message ?? err)), null),
      ]),
    );
  return (await Promise.all(runs)).flat();
}

export const check = (
  connector: string,
  name: CheckName,
  status: CheckStatus,
  detail: string,
  fix: string | null = null,
): DoctorCheck => ({ connector, check: name, status, detail, fix });

export interface Probe {
  status: number;
  body: string;
  date: string | null;
}

/** One GET with the connector's token; a network failure is a `reachable` fail. */
export async function probe(
  deps: ConnectorDeps,
  url: string,
  headers: Record<string, string>,
): Promise<Probe | { error: string }> {
  const send = deps.fetch ?? (globalThis.fetch as unknown as FetchLike);
  try {
    const res = await send(url, { method: 'GET', headers, signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.text(), date: res.headers.get('date') };
  } catch (err) {
    return { error: scrubSecrets((err as Error).message) };
  }
}

/** The token, or the credential check that says why there is none. */
export async function tokenOrCheck(name: string, cred: Credential, fix: string): Promise<string | DoctorCheck> {
  try {
    return await cred.token();
  } catch (err) {
    const message = scrubSecrets((err as Error).message);
    if (credentialFailure(err)?.kind === 'transient')
      return check(name, 'reachable', 'fail', message, 'check the token URL, DNS and egress firewall');
    return check(name, 'credentials', 'fail', message, fix);
  }
}

/** The vendor's clock against ours, from a response's Date header (signed webhooks have replay windows). */
export function clockCheck(name: string, date: string | null, now: () => number): DoctorCheck {
  const at = date ? Date.parse(date) : Number.NaN;
  if (Number.isNaN(at)) return check(name, 'clock', 'skip', 'no Date header in the response');
  const skew = Math.round((now() - at) / 1000);
  const detail = `local clock ${skew >= 0 ? '+' : ''}${skew}s against the vendor's`;
  return Math.abs(skew * 1000) > CLOCK_SKEW_WARN_MS
    ? check(name, 'clock', 'warn', detail, 'sync the host clock (NTP): webhook replay windows are 5 minutes')
    : check(name, 'clock', 'ok', detail);
}

/** Reachability and credentials from the first API call's status. */
export function accessChecks(
  name: string,
  p: Probe | { error: string },
  fix401: string,
  fix403: string,
): DoctorCheck[] {
  if ('error' in p) return [check(name, 'reachable', 'fail', p.error, 'check the base URL, DNS and egress firewall')];
  const reach = check(name, 'reachable', 'ok', `HTTP ${p.status}`);
  if (p.status === 401) return [reach, check(name, 'credentials', 'fail', 'the token was refused (401)', fix401)];
  if (p.status === 403)
    return [reach, check(name, 'scopes', 'fail', scrubSecrets(`refused (403): ${p.body.slice(0, 160)}`), fix403)];
  if (p.status >= 400)
    return [reach, check(name, 'credentials', 'warn', scrubSecrets(`HTTP ${p.status}: ${p.body.slice(0, 160)}`))];
  return [reach, check(name, 'credentials', 'ok', 'a read with the current token worked')];
}
