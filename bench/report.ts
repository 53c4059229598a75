// The human-readable form of a BenchReport (bench.ts prints it unless --json): a header (adapter, model, weights,
// streaming-read ceiling), one table row per context length and attention mode, the matrix kernels at the model's
// shapes, and issue 6's restore line when it was measured.
import { profileLines } from './call-profile';
import { kvRestoreLines } from './kv-restore-measure';
import type { BenchReport } from './run-bench';

const MIB = 2 ** 20;

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

export function formatReport(report: BenchReport): string {
  const out = [
    `adapter: ${report.adapter}; subgroups ${report.subgroups ? 'on' : 'off'}; ${report.pipelineDepth} decode step${report.pipelineDepth === 1 ? '' : 's'} in flight`,
    `model: ${report.model} (${report.config.numLayers} layers, hidden ${report.config.hiddenSize}, ` +
      `${report.config.nRoutedExperts} routed experts top-${report.config.numExpertsPerTok}` +
      `${report.config.indexTopk ? `, DSA index_topk ${report.config.indexTopk}` : ''}), weights ${report.weights}, ` +
      `${(report.weightBytes / MIB).toFixed(0)} MiB on the GPU`,
    `streaming-read ceiling: ${report.ceilingGBps.toFixed(1)} GB/s; last decode step's logits ${report.logitsFinite ? 'all finite' : 'NOT all finite'}`,
    '',
  ];
  if (report.runs.length) out.push(...table(
    ['context', 'attention', 'prefill tok/s', 'decode ms/tok', 'decode tok/s', 'weights MiB/tok', 'KV MiB/tok', 'GB/s', '% ceiling', 'dispatches/tok', 'submits/tok', 'encode ms/tok'],
    report.runs.map((r) => [
      String(r.context), r.attention + (r.attention === 'sparse' && !r.sparseActive ? ' (= dense)' : ''),
      r.prefillTokensPerS.toFixed(0), r.decodeMsPerToken.toFixed(2), r.decodeTokensPerS.toFixed(1),
      (r.weightBytesPerToken / MIB).toFixed(2), (r.kvBytesPerToken / MIB).toFixed(2), r.achievedGBps.toFixed(r.achievedGBps < 10 ? 3 : 1),
      (100 * r.ofCeiling).toFixed(0), r.dispatchesPerToken.toFixed(0), r.submitsPerToken.toFixed(0), r.encodeMsPerToken.toFixed(2),
    ]),
  ));
  if (report.skippedContexts.length) out.push(`skipped contexts beyond the model's limit: ${report.skippedContexts.join(', ')}`);
  if (report.kernels.length) {
    out.push('', 'decode matrix kernels at the model\'s shapes (one token row; wall clock, and GPU timestamps where the adapter has them):');
    const rate = (gbps: number) => gbps.toFixed(gbps < 10 ? 3 : 1);
    out.push(...table(['kernel', 'dtype', 'shape', 'MiB', 'us', 'GB/s', '% ceiling', 'GPU us', 'GPU GB/s', 'GPU % ceiling'], report.kernels.map((k) => [
      k.name, k.dtype, `[${k.shape.join(', ')}]`, (k.bytes / MIB).toFixed(2), k.us.toFixed(1), rate(k.gbps), (100 * k.ofCeiling).toFixed(0),
      k.gpuUs === null ? '-' : k.gpuUs.toFixed(1), k.gpuGBps === null ? '-' : rate(k.gpuGBps),
      k.gpuOfCeiling === null ? '-' : (100 * k.gpuOfCeiling).toFixed(0),
    ])));
  }
  for (const profile of report.profiles ?? []) out.push('', ...profileLines(profile));
  if (report.kvRestore) out.push('', ...kvRestoreLines(report.kvRestore));
  return out.join('\n');
}
