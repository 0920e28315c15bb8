import type { ConnectorDeps } from '../connector.ts';
import { accessChecks, check, clockCheck, probe, tokenOrCheck, type DoctorCheck } from '../common/doctor.ts';
import { zohoCredential, type ZohoConfig } from './index.ts';

const REAUTH = 'generate a new grant for the Zoho client (self client or consent) at the data centre of the org';

/** Reach, credentials, scope (Zoho answers OAUTH_SCOPE_MISMATCH), clock skew. Zoho has no webhooks here. */
export async function zohoDoctor(cfg: ZohoConfig, _ctx: unknown, deps: ConnectorDeps): Promise<DoctorCheck[]> {
  const token = await tokenOrCheck('zoho', zohoCredential(cfg, { logger: deps.logger }), REAUTH);
  if (typeof token !== 'string') return [token];
  const base = cfg.base_url.replace(/\/$/, '');
  const first = await probe(deps, `${base}/crm/v2/Contacts?fields=Email&per_page=1`, {
    authorization: `Zoho-oauthtoken ${token}`,
  });
  const checks = accessChecks(
    'zoho',
    first,
    REAUTH,
    'grant ZohoCRM.modules.contacts.ALL and ZohoCRM.modules.accounts.READ',
  );
  if ('error' in first) return checks;
  if (first.body.includes('OAUTH_SCOPE_MISMATCH'))
    checks.push(
      check('zoho', 'scopes', 'fail', 'OAUTH_SCOPE_MISMATCH', 'add ZohoCRM.modules.contacts.ALL to the grant'),
    );
  checks.push(check('zoho', 'webhooks', 'skip', 'Zoho changes arrive by pulls and reconciliation'));
  checks.push(clockCheck('zoho', first.date, deps.now ?? Date.now));
  return checks;
}
