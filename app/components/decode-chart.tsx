// Decode time per token (ms) against context position, one line per attention mode, over the whole conversation:
// switching modes adds the other line to the same axes. Plain SVG, no chart library.
import type { AttentionChoice } from '../../engine/worker/protocol';
import type { DecodeSeries } from '../store/generation-slice';
import { niceAxis, seriesPath } from './chart-geometry';

const WIDTH = 320;
const HEIGHT = 190;
const AREA = { left: 40, top: 10, width: WIDTH - 52, height: HEIGHT - 46 };
const MODES: { mode: AttentionChoice; label: string }[] = [
  { mode: 'sparse', label: 'sparse (DSA)' },
  { mode: 'dense', label: 'dense' },
];

export function DecodeChart({ series }: { series: DecodeSeries }) {
  const all = [...series.sparse, ...series.dense];
  if (all.length === 0) return <p className="chart-empty">Decode timings appear here after the first answer.</p>;
  const xAxis = niceAxis(Math.max(...all.map((p) => p.contextTokens)));
  const yAxis = niceAxis(Math.max(...all.map((p) => p.ms)));
  const xOf = (v: number) => AREA.left + (v / xAxis.max) * AREA.width;
  const yOf = (v: number) => AREA.top + AREA.height - (v / yAxis.max) * AREA.height;
  return (
    <figure className="decode-chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label="Decode milliseconds per token against context position">
        {yAxis.ticks.map((t) => (
          <g key={`y${t}`}>
            <line className="grid" x1={AREA.left} x2={AREA.left + AREA.width} y1={yOf(t)} y2={yOf(t)} />
            <text className="tick" x={AREA.left - 4} y={yOf(t) + 3} textAnchor="end">{t}</text>
          </g>
        ))}
        {xAxis.ticks.map((t) => (
          <text key={`x${t}`} className="tick" x={xOf(t)} y={AREA.top + AREA.height + 12} textAnchor="middle">{t}</text>
        ))}
        <line className="axis" x1={AREA.left} x2={AREA.left + AREA.width} y1={yOf(0)} y2={yOf(0)} />
        <line className="axis" x1={AREA.left} x2={AREA.left} y1={AREA.top} y2={yOf(0)} />
        <text className="axis-title" x={AREA.left + AREA.width / 2} y={HEIGHT - 4} textAnchor="middle">context position (tokens)</text>
        <text className="axis-title" x={10} y={AREA.top + AREA.height / 2} textAnchor="middle" transform={`rotate(-90 10 ${AREA.top + AREA.height / 2})`}>ms / token</text>
        {MODES.map(({ mode }) => series[mode].length > 0 && (
          <path key={mode} className={`series series-${mode}`} d={seriesPath(series[mode], xAxis, yAxis, AREA)} data-points={series[mode].length} />
        ))}
      </svg>
      <figcaption className="chart-legend">
        {MODES.map(({ mode, label }) => (
          <span key={mode} className={`legend legend-${mode}`}>{label}: {series[mode].length} tokens</span>
        ))}
      </figcaption>
    </figure>
  );
}
