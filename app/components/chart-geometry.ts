// Geometry of the perf panel's decode chart, kept apart from React so it can be tested: "nice" axis ticks
// (1, 2, 5 times a power of ten, from zero) and one SVG path per attention mode, points sorted by context position.
import type { DecodeTiming } from '../../engine/worker/protocol';

export interface Axis {
  max: number;
  ticks: number[];
}

export interface PlotArea {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Zero-based axis covering `dataMax` with about `targetTicks` intervals (3 to 7) of a 1-2-5 step. */
export function niceAxis(dataMax: number, targetTicks = 4): Axis {
  if (!(dataMax > 0) || !Number.isFinite(dataMax)) return { max: 1, ticks: [0, 1] };
  const raw = dataMax / targetTicks;
  const power = 10 ** Math.floor(Math.log10(raw));
  // The 1-2-5 step nearest to the raw step (in ratio), so the axis gets close to `targetTicks` intervals.
  const candidates = [1, 2, 5, 10].map((m) => m * power);
  const step = candidates.reduce((best, s) => (Math.abs(Math.log(s / raw)) < Math.abs(Math.log(best / raw)) ? s : best));
  const intervals = Math.ceil(dataMax / step - 1e-9);
  const ticks = Array.from({ length: intervals + 1 }, (_, i) => Number((i * step).toPrecision(12)));
  return { max: ticks.at(-1)!, ticks };
}

/** "M x y L x y ..." through the points in context order, scaled into `area` (y grows downward in SVG). */
export function seriesPath(points: DecodeTiming[], xAxis: Axis, yAxis: Axis, area: PlotArea): string {
  const sorted = [...points].sort((a, b) => a.contextTokens - b.contextTokens);
  return sorted.map((p, i) => {
    const x = area.left + (p.contextTokens / xAxis.max) * area.width;
    const y = area.top + area.height - (p.ms / yAxis.max) * area.height;
    return `${i === 0 ? 'M' : 'L'}${x.toFixed(1)} ${y.toFixed(1)}`;
  }).join(' ');
}
