import { sql } from 'kysely';
import { isQuiet } from '../src/engine/quiet.ts';
import { postgresBenchDb } from './db-fixtures.ts';
import { cpuMs, forkChild, loadAverage, round, startHearthProcess, summarise, type HearthProcess } from './procs.ts';

const SECRET = 'shpss_scaleout';

/**
 * Scale-out on PostgreSQL: one `hearth serve --no-workers` process takes the webhooks and 1, 2 or 4
 * `hearth serve` worker processes on the same database apply them and write each address back to
 * the HubSpot simulator (its own process; the load generator in another). Measured: from the first
 * webhook sent to the moment the inbox and outbox are empty, events/s and the CPU the worker
 * processes used per webhook. Checked: every contact written exactly once, one customer per
 * webhook (no double apply). The machine has few cores, so the curve flattens early: the CPU per
 * webhook is the figure that carries to a bigger machine.
 */
export async function runScaleoutBench(
  opts: { events?: number; workers?: number[]; runs?: number } = {},
): Promise<Record<string, unknown>> {
  const n = opts.events ?? 3000;
  const out: Record<string, unknown> = { events: n, database: 'postgres' };
  for (const k of opts.workers ?? [1, 2, 4]) {
    // Median of 3 (single runs of 2000 events moved 20-28% between full bench runs).
    const runs: Record<string, unknown>[] = [];
    for (let i = 0; i < (opts.runs ?? 3); i++) {
      const r = await scaleRun(n, k);
      if (!r) return { ...out, skipped: 'PostgreSQL not reachable' };
      runs.push(r);
    }
    out[`workers_${k}`] = { runs: runs.length, ...(summarise(runs) as Record<string, unknown>) };
  }
  return out;
}

async function scaleRun(n: number, k: number): Promise<Record<string, unknown> | null> {
  const bdb = await postgresBenchDb();
  if (!bdb) return null;
  const sims = forkChild('bench/sim-launcher.ts');
  const load = forkChild('bench/load-gen.ts');
  const procs: HearthProcess[] = [];
  try {
    const crm = await sims.call<{ url: string; token: string }>('hubspot');
    const ids = await sims.call<string[]>('seed', { n, prefix: 'i' });
    const config = {
      database: bdb.url,
      connectors: { shopify: { webhook_secret: SECRET }, hubspot: { access_token: crm.token, base_url: crm.url } },
      writeback: { crm: 'hubspot' },
    };
    procs.push(await startHearthProcess(config, ['--no-workers']));
    for (let i = 0; i < k; i++) procs.push(await startHearthProcess(config, ['--no-migrate']));
    await load.call('prepare', { n, secret: SECRET, prefix: `so${k}` });
    const cpu = () => procs.slice(1).reduce((sum, p) => sum + cpuMs(p.pid), 0);
    // The ingress process too: the end-to-end figure is ingest + apply + deliver.
    const ingressCpu = () => cpuMs(procs[0]!.pid);
    const [cpu0, ingress0, load0, t0] = [cpu(), ingressCpu(), loadAverage(), performance.now()];
    await load.call('drive', { url: `${procs[0]!.url}/webhooks/shopify`, concurrency: 16 });
    while (!(await isQuiet(bdb.hdb.db))) await new Promise((r) => setTimeout(r, 50));
    const seconds = (performance.now() - t0) / 1000;
    const workerCpu = cpu() - cpu0;
    const ingress = ingressCpu() - ingress0;
    const acks = await sims.call<(number | null)[]>('acks', { ids });
    const customers = await sql<{ n: number }>`select count(*)::int as n from customers`.execute(bdb.hdb.db);
    return {
      load_average: load0,
      seconds: round(seconds, 2),
      events_per_second: Math.round(n / seconds),
      worker_cpu_ms_per_webhook: round(workerCpu / n, 2),
      ingress_cpu_ms_per_webhook: round(ingress / n, 2),
      server_cpu_ms_per_webhook: round((workerCpu + ingress) / n, 2),
      contacts_written: acks.filter((a) => a !== null).length,
      customers: customers.rows[0]!.n,
    };
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await load.stop();
    await sims.stop();
    await bdb.drop();
  }
}

if (import.meta.main) console.log(JSON.stringify(await runScaleoutBench(), null, 2));
