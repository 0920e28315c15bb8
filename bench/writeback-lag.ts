import { percentile, round } from './db-fixtures.ts';
import { cpuMs, cpuReport, forkChild, histogram, repeated, startHearthProcess } from './procs.ts';

const SECRET = 'shpss_lag_bench';

/**
 * Write-back lag at a steady rate, with Hearth (`hearth serve --config`), the HubSpot simulator
 * and the load generator in three processes: from the load generator sending the checkout webhook
 * to the simulator acknowledging the contact update (both stamp Date.now(); one machine, one
 * clock), beside Hearth's own `hearth_writeback_lag_seconds` histogram from /metrics in the same
 * run. Baseline in the same run: the same SDK update sent by the load generator straight to the
 * simulator. Median of `runs` runs, with the CPU each process used per event.
 */
export async function runWritebackLagBench(
  opts: { rate?: number; seconds?: number; runs?: number } = {},
): Promise<Record<string, unknown>> {
  const rate = opts.rate ?? 100;
  const n = Math.round(rate * (opts.seconds ?? 10));
  return { rate_per_second: rate, events: n, ...(await repeated(opts.runs ?? 3, (run) => lagRun(rate, n, run))) };
}

async function lagRun(rate: number, n: number, run: number): Promise<Record<string, unknown>> {
  const sims = forkChild('bench/sim-launcher.ts');
  const load = forkChild('bench/load-gen.ts');
  let hearth: Awaited<ReturnType<typeof startHearthProcess>> | undefined;
  try {
    const crm = await sims.call<{ url: string; token: string }>('hubspot');
    const prefix = `lag${run}x`;
    const ids = await sims.call<string[]>('seed', { n: n + 200, prefix });
    const baseIds = ids.slice(n);
    const base = await load.call<{ sentAt: number[] }>('sdk', { ...crm, ids: baseIds });
    const baseline = lagsOf(base.sentAt, await sims.call<(number | null)[]>('acks', { ids: baseIds }));
    hearth = await startHearthProcess({
      connectors: { shopify: { webhook_secret: SECRET }, hubspot: { access_token: crm.token, base_url: crm.url } },
      writeback: { crm: 'hubspot' },
      jobs: { poll_interval_ms: 50 },
    });
    const pids = { hearth: hearth.pid, simulator: sims.pid, load_generator: load.pid };
    const before = readCpu(pids);
    const sent = await load.call<{ sentAt: number[]; failures: number; wire_errors: object }>('paced', {
      url: `${hearth.url}/webhooks/shopify`,
      rate,
      n,
      secret: SECRET,
      prefix,
    });
    const acks = await waitForAcks(sims, ids.slice(0, n));
    const after = readCpu(pids);
    const lags = lagsOf(sent.sentAt, acks);
    return {
      delivered: lags.count,
      rejected_webhooks: sent.failures,
      rejected_on_the_wire: sent.wire_errors,
      lag_ms_send_to_ack: lags,
      hearth_histogram: histogram(await hearth.metrics(), 'hearth_writeback_lag_seconds', 'target="hubspot"'),
      baseline_direct_sdk_update_ms: baseline,
      cpu: cpuReport(before, after, n),
    };
  } finally {
    await hearth?.stop();
    await load.stop();
    await sims.stop();
  }
}

function readCpu(pids: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
}

async function waitForAcks(sims: ReturnType<typeof forkChild>, ids: string[]): Promise<(number | null)[]> {
  // Generous: on a busy shared machine the backlog can take minutes to drain; undelivered ones are counted.
  const deadline = Date.now() + 180_000;
  for (;;) {
    const acks = await sims.call<(number | null)[]>('acks', { ids });
    if (acks.every((a) => a !== null) || Date.now() > deadline) return acks;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function lagsOf(sentAt: number[], acks: (number | null)[]) {
  const lags = acks
    .map((a, i) => (a === null ? NaN : a - sentAt[i]!))
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  return {
    count: lags.length,
    p50: round(percentile(lags, 50)),
    p90: round(percentile(lags, 90)),
    p99: round(percentile(lags, 99)),
    max: lags.at(-1) ?? NaN,
  };
}

if (import.meta.main) console.log(JSON.stringify(await runWritebackLagBench(), null, 2));
