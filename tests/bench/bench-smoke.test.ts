// CI smoke test of `npm run bench` (bench/run-bench.ts) on the synthetic `tiny` model: weights generated on the GPU,
// caches filled with random rows, one context below and one above the DSA index_topk, both attention modes. It
// asserts only that the figures exist and are sane — positive, finite, counted — never how fast anything is.
import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../../bench/bench-args';
import { formatReport } from '../../bench/report';
import { runBench } from '../../bench/run-bench';
import { createBenchDevice } from '../../bench/gpu-timing';
import type { EngineDevice } from '../../engine/gpu/device';

const positive = (value: number) => Number.isFinite(value) && value > 0;

// The bench's own device: timestamps where the adapter has them (SwiftShader does), at full resolution.
let pending: Promise<EngineDevice> | undefined;
function testDevice(): Promise<EngineDevice> {
  pending ??= createBenchDevice();
  return pending;
}

/** A GPU-time figure: positive (or, for one call's share, >= 0) with timestamps, null without. */
function expectGpuFigure(device: GPUDevice, value: number | null, what: string, zeroAllowed = false): void {
  if (!device.features.has('timestamp-query')) {
    expect(value, what).toBeNull();
    return;
  }
  expect(value !== null && Number.isFinite(value) && (zeroAllowed ? value >= 0 : value > 0), `${what}: ${value}`).toBe(true);
}

describe('npm run bench on the synthetic tiny model', () => {
  it('reports positive, finite prefill, decode, bandwidth and kernel figures for every context and attention mode', async () => {
    const gpu = await testDevice();
    const options = parseBenchArgs(['--synthetic', 'tiny', '--context', '12,40', '--tokens', '3'], gpu.cpu);
    const report = await runBench(gpu, options);

    expect(report.model).toBe('synthetic tiny');
    expect(report.weights).toMatch(/^q4 g32/);
    expect(positive(report.ceilingGBps)).toBe(true);
    expect(positive(report.weightBytes)).toBe(true);
    expect(report.logitsFinite).toBe(true);
    expect(report.runs.map((r) => [r.context, r.attention])).toEqual([[12, 'sparse'], [12, 'dense'], [40, 'sparse'], [40, 'dense']]);
    for (const run of report.runs) {
      for (const field of ['prefillMs', 'prefillTokensPerS', 'decodeMsPerToken', 'decodeTokensPerS', 'weightBytesPerToken',
        'kvBytesPerToken', 'achievedGBps', 'ofCeiling', 'dispatchesPerToken', 'encodeMsPerToken'] as const) {
        expect(positive(run[field]), `${field} at ${run.context} ${run.attention}: ${run[field]}`).toBe(true);
      }
      expect(run.prefillTokens).toBe(run.context);
      expect(run.decodeTokens).toBe(3);
      expect(run.submitsPerToken).toBe(1);
      expect(run.sparseActive).toBe(run.attention === 'sparse' && run.context > 16);
    }
    // The DSA selection adds dispatches, and beyond index_topk the sparse path reads fewer latent rows per layer.
    const at = (context: number, attention: string) => report.runs.find((r) => r.context === context && r.attention === attention)!;
    expect(at(40, 'sparse').dispatchesPerToken).toBeGreaterThan(at(40, 'dense').dispatchesPerToken);
    expect(at(12, 'sparse').dispatchesPerToken).toBe(at(12, 'dense').dispatchesPerToken);
    expect(at(40, 'dense').kvBytesPerToken).toBeGreaterThan(at(12, 'dense').kvBytesPerToken);

    expect(report.kernels.map((k) => k.name)).toEqual(expect.arrayContaining(['q_a_proj', 'q_b_proj', 'kv_a_proj_with_mqa',
      'kv_b_proj absorbed (W_UK)', 'o_proj', 'experts gate_up (top-2)', 'experts down (top-2)', 'lm_head']));
    for (const kernel of report.kernels) {
      expect(positive(kernel.bytes) && positive(kernel.us) && positive(kernel.gbps), kernel.name).toBe(true);
      expectGpuFigure(gpu.device, kernel.gpuUs, `${kernel.name} GPU us`);
      expectGpuFigure(gpu.device, kernel.gpuGBps, `${kernel.name} GPU GB/s`);
    }
    expect(formatReport(report)).toContain('decode ms/tok');
  });

  it('--profile times every kernel of a decode step (their dispatches add up to the counted ones) and of a prefill chunk', async () => {
    const gpu = await testDevice();
    const options = parseBenchArgs(['--synthetic', 'tiny', '--context', '40', '--tokens', '2', '--no-kernels', '--profile'], gpu.cpu);
    const report = await runBench(gpu, options);
    expect(report.profiles.map((p) => [p.rows === 1 ? 'decode' : 'chunk', p.attention])).toEqual([['decode', 'sparse'], ['decode', 'dense'], ['chunk', 'sparse']]);
    const chunk = report.profiles[2];
    expect(chunk.context + chunk.rows).toBeLessThanOrEqual(44); // the cache: context 40 + 2 tokens + 2 of headroom
    expect(chunk.context).toBeGreaterThanOrEqual(0);
    for (const profile of report.profiles) {
      expect(profile.calls.length).toBeGreaterThan(5);
      for (const call of profile.calls) {
        expect(Number.isFinite(call.us) && call.us >= 0, call.name).toBe(true);
        expectGpuFigure(gpu.device, call.gpuUs, `${call.name} GPU us`, true);
      }
      expect(positive(profile.stepUs)).toBe(true);
      expectGpuFigure(gpu.device, profile.gpuStepUs, 'whole step GPU us');
    }
    for (const run of report.runs) {
      const profile = report.profiles.find((p) => p.rows === 1 && p.attention === run.attention)!;
      const dispatches = profile.calls.reduce((sum, c) => sum + c.calls * c.dispatchesPerCall, 0);
      expect(dispatches, `${run.attention}: profiled dispatches`).toBe(run.dispatchesPerToken);
      expect(profile.calls.map((c) => c.name)).toContain(run.attention === 'sparse' ? 'indexer_scores' : 'mla_attention');
    }
    expect(formatReport(report)).toContain('profile: decode step at context 40 (sparse)');
    if (gpu.device.features.has('timestamp-query')) expect(formatReport(report)).toContain('GPU us/call');
  });
});
