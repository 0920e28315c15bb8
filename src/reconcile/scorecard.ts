import type { FieldComparison } from './compare.ts';

/** Per field of one system: records compared, those that drift, those only spelled differently. */
export interface FieldTally {
  compared: number;
  drifted: number;
  format_only: number;
}

/** system -> field -> tally. */
export type RunStats = Record<string, Record<string, FieldTally>>;

export interface ScoreLine extends FieldTally {
  system: string;
  field: string;
  /** drifted / compared (0 when nothing was compared); format-only differences do not count. */
  drift_rate: number;
  format_only_rate: number;
}

/** Adds one record's comparisons to the running stats (mutates and returns `stats`). */
export function tally(stats: RunStats, system: string, comparisons: readonly FieldComparison[]): RunStats {
  const bySystem = (stats[system] ??= {});
  for (const c of comparisons) {
    const t = (bySystem[c.field] ??= { compared: 0, drifted: 0, format_only: 0 });
    t.compared++;
    if (c.outcome === 'drift') t.drifted++;
    if (c.outcome === 'format_only') t.format_only++;
  }
  return stats;
}

export function rate(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 10_000;
}

/** The scorecard lines of a run's stats, sorted by system then field. */
export function scorecard(stats: RunStats): ScoreLine[] {
  const lines: ScoreLine[] = [];
  for (const [system, fields] of Object.entries(stats)) {
    for (const [field, t] of Object.entries(fields)) lines.push(scoreLine(system, field, t));
  }
  return lines.sort((a, b) => a.system.localeCompare(b.system) || a.field.localeCompare(b.field));
}

export function scoreLine(system: string, field: string, t: FieldTally): ScoreLine {
  return {
    system,
    field,
    ...t,
    drift_rate: rate(t.drifted, t.compared),
    format_only_rate: rate(t.format_only, t.compared),
  };
}
