/**
 * Charts with uPlot (served by Hearth from node_modules at /console/vendor/uplot.js, loaded on
 * first use). Each chart comes with its numbers as a table in a <details>, for screen readers and
 * for copying: the canvas alone says nothing to assistive technology.
 */
import type uPlot from 'uplot';
import { el, table, type Child } from './dom.ts';

type UPlotClass = typeof uPlot;
let loading: Promise<UPlotClass> | null = null;
const UPLOT_URL = '/console/vendor/uplot.js';

function load(): Promise<UPlotClass> {
  loading ??= (import(UPLOT_URL) as Promise<{ default: UPlotClass }>).then((m) => m.default);
  return loading;
}

/** Colours readable on white, told apart by dash pattern as well. */
const COLOURS = ['#1f5fbf', '#b5471b', '#2e7d32', '#6a3d9a', '#8a6d00', '#00796b', '#c2185b'];
const DASHES: number[][] = [[], [6, 3], [2, 3], [10, 4, 2, 4]];

export interface Series {
  label: string;
  values: (number | null)[];
}

export interface ChartSpec {
  title: string;
  /** x values: unix seconds for time, or bucket indexes with `xLabels`. */
  xs: number[];
  series: Series[];
  yLabel: string;
  /** Format of y values in the table and the axis. */
  fmt: (v: number) => string;
  bars?: boolean;
  xLabels?: string[];
  yMax?: number;
  /** A horizontal reference line (e.g. the SLO target). */
  line?: { label: string; value: number };
}

function width(host: HTMLElement): number {
  return Math.max(260, Math.min(host.clientWidth || 600, 1100) - 8);
}

/** A figure with the chart and its data table; the chart is drawn when uPlot has loaded. */
export function chart(spec: ChartSpec): HTMLElement {
  const plot = el('div', { class: 'plot', role: 'img', 'aria-label': `${spec.title} (chart; numbers below)` });
  const xText = (x: number, i: number) =>
    spec.xLabels ? (spec.xLabels[i] ?? String(x)) : new Date(x * 1000).toISOString().slice(0, 16).replace('T', ' ');
  const rows: Child[][] = spec.xs.map((x, i) => [
    xText(x, i),
    ...spec.series.map((s) => (s.values[i] === null || s.values[i] === undefined ? '' : spec.fmt(s.values[i]!))),
  ]);
  const figure = el(
    'figure',
    { class: 'chart' },
    el('figcaption', {}, spec.title),
    plot,
    el('details', {}, el('summary', {}, 'Numbers'), table(spec.title, ['', ...spec.series.map((s) => s.label)], rows)),
  );
  void draw(plot, spec).catch((err: unknown) => {
    plot.textContent = `chart unavailable: ${err instanceof Error ? err.message : String(err)}`;
  });
  return figure;
}

async function draw(plot: HTMLElement, spec: ChartSpec): Promise<void> {
  const UPlot = await load();
  // Drawn after the figure is in the page, so its width is known.
  await new Promise((r) => requestAnimationFrame(r));
  const series: uPlot.Series[] = [
    {},
    ...spec.series.map((s, i) => ({
      label: s.label,
      stroke: COLOURS[i % COLOURS.length]!,
      width: 2,
      dash: DASHES[Math.floor(i / COLOURS.length) % DASHES.length] ?? [],
      ...(spec.bars
        ? {
            fill: `${COLOURS[i % COLOURS.length]!}55`,
            paths: UPlot.paths.bars!({ size: [0.7, 60] }),
            points: { show: false },
          }
        : { points: { show: true, size: 6 } }),
      value: (_u: uPlot, v: number | null) => (v === null ? '–' : spec.fmt(v)),
    })),
  ];
  const ys: (number | null)[][] = spec.series.map((s) => s.values.map((v) => v ?? null));
  if (spec.line) {
    series.push({ label: spec.line.label, stroke: '#555', width: 1, dash: [4, 4], points: { show: false } });
    ys.push(spec.xs.map(() => spec.line!.value));
  }
  const data: uPlot.AlignedData = [spec.xs, ...ys];
  const opts: uPlot.Options = {
    width: width(plot),
    height: 220,
    series,
    scales: {
      // Bars sit on whole numbers: half a bar of room at both ends.
      x: spec.xLabels ? { time: false, range: () => [-0.5, spec.xs.length - 0.5] } : { time: true },
      y: {
        range: (_u, min, max) => [Math.min(0, min), spec.yMax ?? (Math.max(max, spec.line?.value ?? 0) * 1.1 || 1)],
      },
    },
    axes: [
      spec.xLabels
        ? {
            // As many labels as fit (about 45 px each).
            splits: (u: uPlot) =>
              spec.xs.filter((_, i) => i % Math.ceil(spec.xs.length / Math.max(2, u.width / 45)) === 0),
            values: (_u, splits) => splits.map((x) => spec.xLabels![Math.round(x)] ?? ''),
          }
        : {},
      { label: spec.yLabel, values: (_u, splits) => splits.map((v) => spec.fmt(v)), size: 60 },
    ],
    legend: { live: false },
    cursor: { show: true, points: { show: false } },
  };
  const u = new UPlot(opts, data, plot);
  new ResizeObserver(() => u.setSize({ width: width(plot), height: 220 })).observe(plot.parentElement ?? plot);
}
