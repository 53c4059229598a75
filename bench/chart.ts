// Renders docs/performance.md's chart from `npm run bench -- --json --out FILE` reports: decode ms/token against
// context length, one line per (report, attention mode), as an SVG (chart-svg.ts) screenshotted to PNG in headless
// Chromium through playwright-core. Usage:
//   node scripts/run-ts.mjs bench/chart.ts REPORT.json [REPORT.json ...] --out docs/performance-decode.png [--title T]
// Also writes the SVG beside the PNG (same name, .svg).
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { chartSvg, type ChartSeries } from './chart-svg';
import type { BenchReport } from './run-bench';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function seriesOf(report: BenchReport): ChartSeries[] {
  const modes = [...new Set(report.runs.map((r) => r.attention))];
  return modes.map((mode) => ({
    label: `${report.model.replace(/^synthetic /, '')} ${mode}`,
    points: report.runs.filter((r) => r.attention === mode).map((r) => ({ context: r.context, msPerToken: r.decodeMsPerToken })),
  }));
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string', default: 'docs/performance-decode.png' }, title: { type: 'string' } },
  });
  if (positionals.length === 0) throw new Error('usage: bench/chart.ts REPORT.json [...] --out FILE.png [--title T]');
  const reports: BenchReport[] = await Promise.all(positionals.map(async (file) => JSON.parse(await readFile(file, 'utf8'))));
  const title = values.title ?? `Decode time per token, ${reports[0].weights.split(' ')[0]} weights — ${reports[0].adapter}`;
  const svg = chartSvg(title, reports.flatMap(seriesOf));
  const out = values.out!;
  await writeFile(out.replace(/\.png$/, '.svg'), svg);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 760, height: 420 }, deviceScaleFactor: 2 });
    await page.setContent(`<html><body style="margin:0">${svg}</body></html>`);
    await page.locator('svg').screenshot({ path: out });
  } finally {
    await browser.close();
  }
  console.log(`wrote ${out}`);
}

main().then(() => process.exit(0), (error) => {
  console.error(error);
  process.exit(1);
});
