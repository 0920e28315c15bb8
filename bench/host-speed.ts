import { round, sortCpuMs } from './procs.ts';

/**
 * The host's speed during a round. This VM's host changes speed by up to 2x for minutes at a time
 * with no steal time reported (hostProbe() read 56-113 ms within run K), and a probe before a round
 * cannot see a spell that starts during it. So the runner samples a small fixed piece of work every
 * second while a round runs and records the median with the round (`host_speed_in_round`): context
 * for a figure that moved, and compare.ts's labelled host-corrected diagnostic.
 *
 * Samples the CPU ms of sorting 50,000 numbers (about 15 ms) now and every `everyMs` until stop(),
 * which returns the median reading: about 1.5% of one core, small enough beside a latency bench. One
 * reading moves by +-25% from second to second, the median of a 10 s window by +-10%; a core burning
 * beside it did not move it.
 */
export function sampleHost(everyMs = 1000): { stop(): number } {
  const readings = [sortCpuMs(50_000)];
  const timer = setInterval(() => readings.push(sortCpuMs(50_000)), everyMs);
  return {
    stop() {
      clearInterval(timer);
      readings.push(sortCpuMs(50_000));
      const sorted = readings.sort((p, q) => p - q);
      return round(sorted[Math.floor(sorted.length / 2)]!, 2);
    },
  };
}
