import type { ErasurePayload } from '../../canonical/erasure.ts';
import type { DeliveryResult, OutboundJob } from '../../canonical/types.ts';
import type { ConnectorDeps } from '../connector.ts';
import { eraseEach, type Eraser } from '../erasure.ts';
import { withRenewal } from '../common/renewing.ts';
import { salesforceConnection } from './auth.ts';
import type { SalesforceConfig } from './config.ts';
import { mapError } from './mapping.ts';

/**
 * Deletes the Contact records (`DELETE /sobjects/Contact/:id`); with no crosswalk id, the
 * Contacts with the e-mail (SOQL). Salesforce keeps a deleted record in its recycle bin for 15
 * days: a hard delete there is the org's own purge policy.
 */
export function salesforceEraser(cfg: SalesforceConfig, deps: ConnectorDeps): Eraser {
  const { conn, cred, use } = salesforceConnection(cfg, deps);
  const erase = eraseEach(
    async (id) => {
      try {
        await conn.sobject('Contact').destroy(id);
        return { ok: true };
      } catch (err) {
        return mapError(err);
      }
    },
    async (email) => {
      try {
        const quoted = `'${email.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
        const res = await conn.query<{ Id: string }>(`SELECT Id FROM Contact WHERE Email = ${quoted}`);
        return { ok: true, ids: res.records.map((r) => r.Id) };
      } catch (err) {
        return mapError(err);
      }
    },
  );
  const renewing = withRenewal(
    {
      id: 'salesforce',
      outbound: {
        kinds: ['erasure.delete'],
        deliver: (jobs: OutboundJob[]): Promise<DeliveryResult[]> => erase(jobs as OutboundJob<ErasurePayload>[]),
      },
    },
    cred,
    use,
  );
  return (jobs) => renewing.outbound!.deliver(jobs);
}
