// The decode chart of docs/performance.md as an SVG string: ms/token (linear y, from 0) against context length
// (log2 x axis), one line per series — typically a model's dense and sparse runs from `npm run bench -- --json`.
// Pure string building, so it is testable without a browser; chart.ts renders it to PNG.
export interface ChartSeries {
  label: string;
  points: { context: number; msPerToken: number }[];
}

const WIDTH = 760;
const HEIGHT = 420;
const MARGIN = { left: 70, right: 190, top: 40, bottom: 55 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A round step for about five y ticks over [0, max]. */
function tickStep(max: number): number {
  const raw = max / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
}

export function chartSvg(title: string, series: ChartSeries[]): string {
  const points = series.flatMap((s) => s.points);
  if (points.length === 0) throw new Error('the chart needs at least one point');
  const contexts = [...new Set(points.map((p) => p.context))].sort((a, b) => a - b);
  const [minX, maxX] = [Math.log2(contexts[0]), Math.log2(contexts[contexts.length - 1])];
  const step = tickStep(Math.max(...points.map((p) => p.msPerToken)));
  const maxY = Math.ceil(Math.max(...points.map((p) => p.msPerToken)) / step) * step;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (context: number) => MARGIN.left + (maxX === minX ? plotW / 2 : ((Math.log2(context) - minX) / (maxX - minX)) * plotW);
  const y = (ms: number) => MARGIN.top + plotH - (ms / maxY) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="13">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  for (let v = 0; v <= maxY + 1e-9; v += step) {
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 8}" y="${y(v) + 4}" text-anchor="end">${+v.toFixed(3)}</text>`);
  }
  for (const c of contexts) {
    parts.push(`<line x1="${x(c)}" x2="${x(c)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`,
      `<text x="${x(c)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${c.toLocaleString('en-US')}</text>`);
  }
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 12}" text-anchor="middle">context length (tokens, log scale)</text>`,
    `<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">decode ms / token</text>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const sorted = [...s.points].sort((a, b) => a.context - b.context);
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2.5" points="${sorted.map((p) => `${x(p.context)},${y(p.msPerToken)}`).join(' ')}"/>`);
    for (const p of sorted) parts.push(`<circle cx="${x(p.context)}" cy="${y(p.msPerToken)}" r="4" fill="${colour}"/>`);
    const ly = MARGIN.top + 10 + i * 22;
    parts.push(`<line x1="${WIDTH - MARGIN.right + 15}" x2="${WIDTH - MARGIN.right + 40}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2.5"/>`,
      `<text x="${WIDTH - MARGIN.right + 46}" y="${ly + 4}">${escapeXml(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
