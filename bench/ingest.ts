import Database from 'better-sqlite3';
import { cpuMs, cpuReport, forkChild, repeated, round, startHearthProcess } from './procs.ts';

const SECRET = 'shpss_bench';

/**
 * Webhook-to-durable-inbox throughput over real HTTP (verify HMAC, parse, insert, 200) with Hearth
 * started as `hearth serve --config FILE --no-workers` and the load generator in its own process,
 * beside a bare Fastify route (in the simulator process) answering the same requests from the same
 * client in the same run. Median of `runs` runs, with the CPU each process used per request.
 */
export async function runIngestBench(
  opts: { requests?: number; concurrency?: number; runs?: number } = {},
): Promise<Record<string, unknown>> {
  const n = opts.requests ?? 10_000;
  const c = opts.concurrency ?? 32;
  return { requests: n, concurrency: c, ...(await repeated(opts.runs ?? 3, (run) => ingestRun(n, c, run))) };
}

async function ingestRun(n: number, concurrency: number, run: number): Promise<Record<string, unknown>> {
  const sims = forkChild('bench/sim-launcher.ts');
  const load = forkChild('bench/load-gen.ts');
  let hearth: Awaited<ReturnType<typeof startHearthProcess>> | undefined;
  try {
    const drive = async (url: string, pid: number, prefix: string) => {
      await load.call('prepare', { n, secret: SECRET, prefix });
      return measured({ server: pid, load_generator: load.pid }, n, () =>
        load.call<{ requests_per_second: number }>('drive', { url, concurrency }),
      );
    };
    const bare = await sims.call<{ url: string }>('bare');
    const bareRate = await drive(`${bare.url}/webhooks/shopify`, sims.pid, `bare${run}`);
    hearth = await startHearthProcess({ connectors: { shopify: { webhook_secret: SECRET } } }, ['--no-workers']);
    const hearthRate = await drive(`${hearth.url}/webhooks/shopify`, hearth.pid, `ingest${run}`);
    const db = new Database(hearth.dbPath, { readonly: true });
    const stored = (db.prepare('select count(*) as n from inbox_events').get() as { n: number }).n;
    db.close();
    return {
      bare_fastify: bareRate,
      hearth_sqlite: { ...hearthRate, stored },
      ratio_vs_bare: round(hearthRate.requests_per_second / bareRate.requests_per_second, 3),
    };
  } finally {
    await hearth?.stop();
    await load.stop();
    await sims.stop();
  }
}

async function measured<T extends object>(pids: Record<string, number>, n: number, fn: () => Promise<T>) {
  const read = () => Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
  const before = read();
  const result = await fn();
  return { ...result, cpu: cpuReport(before, read(), n) };
}

if (import.meta.main) console.log(JSON.stringify(await runIngestBench(), null, 2));
