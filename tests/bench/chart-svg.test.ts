// The performance chart's SVG (bench/chart-svg.ts): one line and legend entry per series, points placed on a log2
// context axis (equal ratios, equal distances) and a linear ms axis from 0, text escaped.
import { describe, expect, it } from 'vitest';
import { chartSvg } from '../../bench/chart-svg';

const dense = { label: 'v32 dense <q4>', points: [{ context: 512, msPerToken: 2 }, { context: 2048, msPerToken: 4 }, { context: 8192, msPerToken: 8 }] };
const sparse = { label: 'v32 sparse', points: [{ context: 8192, msPerToken: 3 }, { context: 512, msPerToken: 2 }] };

function polylinePoints(svg: string): number[][][] {
  return [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1].split(' ').map((p) => p.split(',').map(Number)));
}

describe('chartSvg', () => {
  it('draws each series as a polyline sorted by context, on a log2 x axis and a linear y axis from 0', () => {
    const svg = chartSvg('Decode', [dense, sparse]);
    const [densePoints, sparsePoints] = polylinePoints(svg);
    expect(densePoints).toHaveLength(3);
    expect(sparsePoints).toHaveLength(2);
    // 512 -> 2048 -> 8192 are equal ratios, so equal x steps; y is linear in ms (2 -> 4 -> 8 ms).
    const [a, b, c] = densePoints;
    expect(b[0] - a[0]).toBeCloseTo(c[0] - b[0], 6);
    expect((a[1] - b[1]) * 2).toBeCloseTo(b[1] - c[1], 6);
    expect(sparsePoints[0][0]).toBeCloseTo(a[0], 6); // sorted: 512 first
    expect(sparsePoints[1][0]).toBeCloseTo(c[0], 6);
  });

  it('escapes labels and refuses an empty chart', () => {
    expect(chartSvg('T', [dense])).toContain('v32 dense &lt;q4&gt;');
    expect(() => chartSvg('T', [])).toThrow(/at least one point/);
  });
});
