import Fastify from 'fastify';
import { type HubSpotSim, startHubSpotSim } from '../sim/hubspot.ts';
import { serveParent } from './procs.ts';

/**
 * The simulators in their own process, driven by the bench over IPC (bench/procs.ts forkChild):
 * the HubSpot simulator (which records when it acknowledged each API write) and, for the ingest
 * baseline, a bare Fastify route.
 */
let crm: HubSpotSim | undefined;

serveParent({
  hubspot: async () => {
    crm ??= await startHubSpotSim();
    return { url: crm.url, token: crm.token };
  },
  seed: ({ n, prefix }: { n: number; prefix: string }) =>
    Array.from({ length: n }, (_, i) =>
      crm!.createContact({
        email: `${prefix}${i}@example.com`,
        address: '1 Old Rd',
        city: 'Austin',
        state: 'TX',
        zip: '78701',
        country: 'US',
      }),
    ),
  /** When the simulator acknowledged the first API write to each contact (ms since epoch; null if none). */
  acks: ({ ids }: { ids: string[] }) => ids.map((id) => crm!.history(id)[0]?.at ?? null),
  bare: async () => {
    const app = Fastify();
    app.post('/webhooks/shopify', async () => ({ accepted: 1, duplicates: 0 }));
    return { url: await app.listen({ host: '127.0.0.1', port: 0 }) };
  },
});
