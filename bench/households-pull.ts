import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHubSpotSim } from '../sim/hubspot.ts';
import { parseConfig } from '../src/config.ts';
import { buildConnectors } from '../src/connectors/registry.ts';
import { openDatabase } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { pullConnector } from '../src/households/sources.ts';
import { createLogger } from '../src/log.ts';
import { engineContext } from '../src/runtime.ts';

/**
 * Household pull throughput: N HubSpot contacts in households of four (company as household),
 * pulled in pages of 100 into a fresh database, then pulled again (nothing changes). Prints JSON.
 * `node bench/households-pull.ts [contacts] [postgres-url]`.
 */
const n = Number(process.argv[2] ?? 2000);
const dbUrl = process.argv[3];
const crm = await startHubSpotSim();
for (let i = 0; i < n; i += 4) {
  const company = crm.households.createCompany(`Household ${i / 4}`);
  for (let k = 0; k < 4 && i + k < n; k++) {
    const id = crm.createContact({ email: `p${i + k}@bench.example`, firstname: `P${i + k}`, lastname: 'Bench', points_aggregation_opt_in: k < 2 ? 'true' : 'false' });
    crm.households.associateCompany(id, company, { primary: true, ...(k === 0 ? { label: 'Head of household' } : {}) });
  }
}
const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-'));
const config = parseConfig({ database: dbUrl ?? `sqlite:${join(dir, 'b.db')}`, connectors: { hubspot: { access_token: crm.token, base_url: crm.url } }, households: { source: 'hubspot' }, log: { level: 'silent' } });
const hdb = openDatabase(config.database);
await migrateToLatest(hdb.db);
const connectors = buildConnectors(config.connectors, { logger: createLogger('silent') });
const ctx = engineContext(config, connectors);
const timed = async (restart: boolean) => {
  const t0 = performance.now();
  const s = await pullConnector(hdb, config, connectors, ctx, 'hubspot', { restart, page_size: 100 });
  const seconds = (performance.now() - t0) / 1000;
  return { contacts: s.contacts, members_changed: s.members_changed, seconds: Number(seconds.toFixed(2)), contacts_per_second: Math.round(s.contacts / seconds) };
};
const first = await timed(true);
const again = await timed(true);
console.log(JSON.stringify({ bench: 'households-pull', dialect: dbUrl ? 'postgres' : 'sqlite', contacts: n, first_pull: first, second_pull: again }));
await hdb.close();
await crm.close();
rmSync(dir, { recursive: true, force: true });
