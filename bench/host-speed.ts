import { round, sortCpuMs } from './procs.ts';

/**
 * The host's speed during a round, and which rounds count. This VM's host changes speed by up to 2x
 * for minutes at a time with no steal time reported (hostProbe() read 56-113 ms within run K), and a
 * probe before a round cannot see a spell that starts during it. So the runner samples a small fixed
 * piece of work every second while a round runs, and a round whose median sample reads more than
 * SLOW_HOST times the run's fastest round is set aside (kept in the results, not in the figure) and
 * made up for later in the run, within a time budget.
 */
export const SLOW_HOST = 1.15;

/**
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

/**
 * Indexes of the rounds that count: those whose host reading is within SLOW_HOST of `fastest` (the
 * run's fastest round so far). When none is, every round counts: the figure then shows the slow host
 * rather than nothing, and `host_speed_in_round` shows why.
 */
export function countedRounds(speeds: number[], fastest: number): number[] {
  const fast = speeds.flatMap((s, i) => (s <= fastest * SLOW_HOST ? [i] : []));
  return fast.length > 0 ? fast : speeds.map((_, i) => i);
}
