import type { ConnectorDeps } from '../connector.ts';
import {
  accessChecks,
  check,
  clockCheck,
  probe,
  tokenOrCheck,
  type DoctorCheck,
  type DoctorContext,
} from '../common/doctor.ts';
import { salesforceCredential } from './auth.ts';
import type { SalesforceConfig } from './config.ts';

const REAUTH = 'authorise the connected app again (new refresh token) or check the JWT certificate and user';
const NPSP_FIELDS = 'Id, npe01__One2OneContact__c, npe01__SYSTEM_AccountType__c';

/** Reach, credentials (a session works), NPSP household fields, how CDC arrives, clock skew. */
export async function salesforceDoctor(
  cfg: SalesforceConfig,
  ctx: DoctorContext,
  deps: ConnectorDeps,
): Promise<DoctorCheck[]> {
  const token = await tokenOrCheck('salesforce', salesforceCredential(cfg, deps), REAUTH);
  if (typeof token !== 'string') return [token];
  const api = `${cfg.instance_url.replace(/\/$/, '')}/services/data/v${cfg.api_version}`;
  const auth = { authorization: `Bearer ${token}` };
  const soql = (q: string) => probe(deps, `${api}/query?q=${encodeURIComponent(q)}`, auth);
  const first = await soql('SELECT Id FROM Contact LIMIT 1');
  const checks = accessChecks('salesforce', first, REAUTH, 'give the integration user Read/Edit on Contact');
  if ('error' in first || first.status === 401) return checks;
  if (ctx.household_source === 'salesforce') {
    const npsp = await soql(`SELECT ${NPSP_FIELDS} FROM Account LIMIT 1`);
    checks.push(
      !('error' in npsp) && npsp.status === 200
        ? check('salesforce', 'properties', 'ok', 'NPSP household fields readable on Account')
        : check('salesforce', 'properties', 'fail', 'NPSP household fields not readable', 'install NPSP; field access'),
    );
  }
  checks.push(
    cfg.cdc?.enabled
      ? check('salesforce', 'webhooks', 'ok', `CDC over the Pub/Sub API: ${cfg.cdc.channels.join(', ')}`)
      : cfg.cdc_secret
        ? check('salesforce', 'webhooks', 'ok', 'CDC through a signing relay (cdc_secret set)')
        : check(
            'salesforce',
            'webhooks',
            'warn',
            'no real-time changes: CDC is not enabled',
            'set cdc: { enabled: true, org_id } (Pub/Sub API), run a relay with cdc_secret, or rely on reconciliation',
          ),
  );
  checks.push(clockCheck('salesforce', first.date, deps.now ?? Date.now));
  return checks;
}
