import type { Connector, OutboundJob } from '../../canonical/types.ts';
import { IDP_PUSH_KIND, type IdentityClaims, type MissingUserPolicy } from '../../canonical/identity-claims.ts';
import { createHttpClient, type HttpClient, type HttpDeps, type Outcome } from '../common/idp/http.ts';
import { deliverPushes, type IdpUserApi } from '../common/idp/push.ts';

export const HEARTH_SCIM_SCHEMA = 'urn:ietf:params:scim:schemas:extension:hearth:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SCIM_JSON = 'application/scim+json';

export interface ScimConfig {
  /** The service provider's base URL, e.g. https://idp.example.com/scim/v2 */
  base_url: string;
  /** Bearer token of the SCIM client (named like the other connectors' so logs redact it). */
  access_token: string;
  /** URN of the extension schema holding the household attributes. */
  schema_urn: string;
  missing_user: MissingUserPolicy;
}

/** The extension attributes Hearth writes (names as in the extension schema, docs/identity-provider.md). */
export function scimAttributes(c: IdentityClaims): Record<string, string | boolean | null> {
  return {
    householdId: c.household_id,
    hierarchyRole: c.hierarchy_role,
    pointsAggregationOptIn: c.points_aggregation_opt_in,
    tier: c.tier,
  };
}

/** A SCIM 2.0 PATCH that sets (replace) or clears (remove) each extension attribute. */
export function scimPatch(
  urn: string,
  c: IdentityClaims,
): { schemas: string[]; Operations: { op: string; path: string; value?: unknown }[] } {
  const ops = Object.entries(scimAttributes(c)).map(([name, value]) =>
    value === null ? { op: 'remove', path: `${urn}:${name}` } : { op: 'replace', path: `${urn}:${name}`, value },
  );
  return { schemas: [PATCH_OP], Operations: ops };
}

/**
 * Pushes household attributes to a SCIM 2.0 service provider: the user is found with
 * `filter=userName eq "<email>"` (then `emails.value eq`), and its extension attributes are set
 * with one atomic PATCH.
 */
export function createScimConnector(cfg: ScimConfig, deps: HttpDeps = {}): Connector {
  const api = scimUserApi(cfg, createHttpClient('scim', deps));
  return {
    id: 'scim',
    maxBatch: 20,
    outbound: {
      kinds: [IDP_PUSH_KIND],
      deliver: (jobs: OutboundJob[]) => deliverPushes('scim', api, cfg.missing_user, jobs),
    },
  };
}

export function scimUserApi(cfg: ScimConfig, http: HttpClient): IdpUserApi {
  const base = cfg.base_url.replace(/\/$/, '');
  const headers = { authorization: `Bearer ${cfg.access_token}`, accept: SCIM_JSON };
  const search = async (filter: string): Promise<Outcome<string[]>> => {
    const r = await http.request(
      'GET',
      `${base}/Users?${new URLSearchParams({ filter, attributes: 'id', count: '10' })}`,
      { headers },
    );
    if (!r.ok) return r;
    const list = (r.value as { Resources?: { id?: unknown }[] } | null)?.Resources ?? [];
    return { ok: true, value: list.map((u) => u.id).filter((id): id is string => typeof id === 'string') };
  };
  return {
    async findByEmail(email) {
      // A filter value is a JSON string literal: JSON.stringify quotes and escapes it.
      const byUserName = await search(`userName eq ${JSON.stringify(email)}`);
      if (!byUserName.ok || byUserName.value.length > 0) return byUserName;
      // Not every provider filters on emails (400 invalidFilter): then userName was the only way in.
      const byEmail = await search(`emails.value eq ${JSON.stringify(email)}`);
      return !byEmail.ok && byEmail.kind === 'invalid' ? { ok: true, value: [] } : byEmail;
    },
    async writeClaims(id, claims) {
      const r = await http.request('PATCH', `${base}/Users/${encodeURIComponent(id)}`, {
        headers: { ...headers, 'content-type': SCIM_JSON },
        body: JSON.stringify(scimPatch(cfg.schema_urn, claims)),
      });
      return r.ok ? { ok: true, value: null } : r;
    },
    async deleteUser(id) {
      const r = await http.request('DELETE', `${base}/Users/${encodeURIComponent(id)}`, { headers });
      return r.ok ? { ok: true, value: null } : r;
    },
  };
}
