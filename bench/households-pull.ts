import { startHubSpotSim, type HubSpotSim } from '../sim/hubspot.ts';
import { parseConfig } from '../src/config/loader.ts';
import { buildConnectors } from '../src/connectors/registry.ts';
import { pullConnector } from '../src/flows/pull-sources.ts';
import { createLogger } from '../src/log.ts';
import { engineContext } from '../src/runtime.ts';
import { postgresBenchDb, sqliteBenchDb, type BenchDb } from './db-fixtures.ts';
import { repeated } from './procs.ts';

/**
 * Household pull throughput: N HubSpot contacts in households of four (company as household),
 * pulled in pages of 100 into a fresh database, then pulled again (nothing changes); median of 3
 * after one unrecorded warm-up run. Baseline in
 * the same run: paging the same contacts through the connector alone (SDK + simulator), no store.
 */
export async function runHouseholdsPullBench(
  opts: { contacts?: number; runs?: number } = {},
): Promise<Record<string, unknown>> {
  const n = opts.contacts ?? 5000;
  const runs = opts.runs ?? 3;
  const crm = await seededCrm(n);
  const out: Record<string, unknown> = { contacts: n, page_size: 100 };
  try {
    for (const [name, open] of [
      ['sqlite', sqliteBenchDb],
      ['postgres', postgresBenchDb],
    ] as const) {
      let fresh: BenchDb | null = await open();
      if (!fresh) continue;
      // One unrecorded pull first: the first run of a process paid for JIT warm-up and disagreed
      // with later runs by up to 38%.
      await pullTwice(fresh, crm).finally(() => fresh!.drop());
      fresh = await open();
      // Each run pulls into a fresh database: median of `runs` runs, min and max beside it.
      out[name] = await repeated(runs, async () => {
        const bdb = fresh ?? (await open())!;
        fresh = null;
        try {
          return await pullTwice(bdb, crm);
        } finally {
          await bdb.drop();
        }
      });
    }
  } finally {
    await crm.close();
  }
  return out;
}

async function seededCrm(n: number): Promise<HubSpotSim> {
  const crm = await startHubSpotSim();
  for (let i = 0; i < n; i += 4) {
    const company = crm.households.createCompany(`Household ${i / 4}`);
    for (let k = 0; k < 4 && i + k < n; k++) {
      const id = crm.createContact({
        email: `p${i + k}@bench.example`,
        firstname: `P${i + k}`,
        lastname: 'Bench',
        points_aggregation_opt_in: k < 2 ? 'true' : 'false',
      });
      crm.households.associateCompany(id, company, {
        primary: true,
        ...(k === 0 ? { label: 'Head of household' } : {}),
      });
    }
  }
  return crm;
}

async function pullTwice(bdb: BenchDb, crm: HubSpotSim) {
  const config = parseConfig({
    database: bdb.url,
    connectors: { hubspot: { access_token: crm.token, base_url: crm.url } },
    households: { source: 'hubspot' },
    log: { level: 'silent' },
  });
  const connectors = buildConnectors(config.descriptors, config.connectors, { logger: createLogger('silent') });
  const ctx = engineContext(config, connectors);
  const timed = async () => {
    const t0 = performance.now();
    const s = await pullConnector(bdb.hdb, config, connectors, ctx, 'hubspot', { restart: true, page_size: 100 });
    const seconds = (performance.now() - t0) / 1000;
    return {
      contacts: s.contacts,
      members_changed: s.members_changed,
      seconds: round(seconds),
      contacts_per_second: Math.round(s.contacts / seconds),
    };
  };
  const first_pull = await timed();
  const second_pull = await timed();
  // The listing alone takes tens of milliseconds: five passes, so the timer measures more than noise.
  const t0 = performance.now();
  let listed = 0;
  for (let pass = 0; pass < LISTING_PASSES; pass++) {
    let cursor: string | null = null;
    do {
      const page = await connectors.hubspot!.source!.listContacts(cursor, {
        limit: 100,
        extra_properties: ['points_aggregation_opt_in'],
      });
      listed += page.records.length;
      cursor = page.next_cursor;
    } while (cursor);
  }
  const s = (performance.now() - t0) / 1000;
  return {
    first_pull,
    second_pull,
    baseline_listing_only: {
      contacts: listed,
      passes: LISTING_PASSES,
      seconds: round(s),
      contacts_per_second: Math.round(listed / s),
    },
  };
}

const LISTING_PASSES = 5;
const round = (x: number) => Number(x.toFixed(2));
