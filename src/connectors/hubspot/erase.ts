import type { ErasurePayload } from '../../canonical/erasure.ts';
import type { DeliveryResult, OutboundJob } from '../../canonical/types.ts';
import type { ConnectorDeps } from '../connector.ts';
import type { Eraser } from '../erasure.ts';
import { withRenewal } from '../common/renewing.ts';
import { hubspotCredential, hubspotRenewingClient, type HubSpotConfig } from './index.ts';
import { mapError } from './mapping.ts';

/**
 * HubSpot's GDPR delete (`POST /crm/v3/objects/contacts/gdpr-delete`): permanent, and HubSpot
 * blocks the e-mail from being re-added. By crosswalk id; with none, by e-mail (`idProperty`).
 * A contact already gone (404) counts as erased.
 */
export function hubspotEraser(cfg: HubSpotConfig, deps: ConnectorDeps): Eraser {
  const { client, use } = hubspotRenewingClient(cfg);
  const now = deps.now ?? Date.now;
  const purge = async (objectId: string, idProperty?: string): Promise<DeliveryResult | null> => {
    try {
      await client.crm.contacts.basicApi.purge({ objectId, ...(idProperty ? { idProperty } : {}) });
      return null;
    } catch (err) {
      const f = mapError(err, now);
      return f.kind === 'not_found' ? null : f;
    }
  };
  const deliver = async (jobs: OutboundJob[]): Promise<DeliveryResult[]> => {
    const results: DeliveryResult[] = [];
    for (const job of jobs) {
      const p = job.payload as ErasurePayload;
      let failed: DeliveryResult | null = null;
      for (const id of p.external_ids) failed ??= await purge(id);
      if (p.external_ids.length === 0 && p.email) failed = await purge(p.email, 'email');
      results.push(failed ?? { ok: true });
    }
    return results;
  };
  // The token (a private app's, or renewed from an OAuth grant) is set before each batch.
  const renewing = withRenewal(
    { id: 'hubspot', outbound: { kinds: ['erasure.delete'], deliver } },
    hubspotCredential(cfg, deps),
    use,
  );
  return (jobs) => renewing.outbound!.deliver(jobs);
}
