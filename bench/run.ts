import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';

/**
 * `npm run bench [-- name ...]`: runs the benchmarks and prints one JSON document (also written
 * to bench/out/results.json). Each benchmark measures its own baseline in the same run.
 */
const BENCHES: Record<string, () => Promise<Record<string, unknown>>> = {
  address: async () => (await import('./address.ts')).runAddressBench(),
  ingest: async () => (await import('./ingest.ts')).runIngestBench(),
  engine: async () => (await import('./engine.ts')).runEngineBench(),
  writeback_lag: async () => (await import('./writeback-lag.ts')).runWritebackLagBench(),
  identity: async () => (await import('./identity.ts')).runIdentityBench(),
  loyalty: async () => (await import('./loyalty.ts')).runLoyaltyBench(),
  households_pull: async () => (await import('./households-pull.ts')).runHouseholdsPullBench(),
  audit: async () => (await import('./audit.ts')).runAuditBench(),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !BENCHES[w]);
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')} (known: ${Object.keys(BENCHES).join(', ')})\n`);
  process.exit(2);
}
const results: Record<string, unknown> = {
  machine: { node: process.version, cpus: availableParallelism(), memory_gb: Math.round(totalmem() / 2 ** 30) },
  started_at: new Date().toISOString(),
};
for (const name of wanted.length ? wanted : Object.keys(BENCHES)) {
  process.stderr.write(`bench: ${name}...\n`);
  try {
    results[name] = await BENCHES[name]!();
  } catch (err) {
    results[name] = { error: (err as Error).message };
    process.exitCode = 1;
  }
}
mkdirSync(new URL('./out/', import.meta.url), { recursive: true });
writeFileSync(new URL('./out/results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
console.log(JSON.stringify(results, null, 2));
