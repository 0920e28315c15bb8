import { memoryCpuMs, round, sortCpuMs } from './procs.ts';

/**
 * The host's speed during a round. This VM's host changes speed by up to 2x for minutes at a time
 * with no steal time reported (hostProbe() read 56-113 ms within run K), and a probe before a round
 * cannot see a spell that starts during it. So the runner samples a small fixed piece of work every
 * second while a round runs and records the median with the round (`host_speed_in_round`): context
 * for a figure that moved, and compare.ts's labelled host-corrected diagnostic.
 *
 * Samples the CPU ms of sorting 50,000 numbers (about 15 ms) and of a memory walk (about 10 ms,
 * HostReading) now and every `everyMs` until stop(), which returns the median readings: about 2.5%
 * of one core, small enough beside a latency bench. One sort reading moves by +-25% from second to
 * second, the median of a 10 s window by +-10%; a core burning beside it did not move it.
 */
export function sampleHost(everyMs = 1000): { stop(): HostReading } {
  const sorts = [sortCpuMs(50_000)];
  const walks = [memoryCpuMs()];
  const timer = setInterval(() => {
    sorts.push(sortCpuMs(50_000));
    walks.push(memoryCpuMs());
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sorts.push(sortCpuMs(50_000));
      walks.push(memoryCpuMs());
      return { sort: medianOf(sorts), memory: medianOf(walks) };
    },
  };
}

/**
 * Median readings of a round: `sort`, the fixed sort (fits in the cache); `memory`, a walk of
 * dependent reads over 64 MB (memoryCpuMs()). The sort saw no difference between runs whose
 * round-trip and GC-heavy figures were 20-60% apart (runs O and P); a neighbour on the host
 * contending for its memory bandwidth or cache would show in the walk, not in the sort.
 */
export interface HostReading {
  sort: number;
  memory: number;
}

const medianOf = (xs: number[]): number => round(xs.sort((p, q) => p - q)[Math.floor(xs.length / 2)]!, 2);
