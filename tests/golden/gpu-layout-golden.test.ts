// The GPU kernel layouts through the whole model: CPU adapters run CPU layouts by default, so this forces every
// kernel's GPU layout (heads-sharing attention, engine/kernels/mla-heads.ts; packed matvec lanes; the router gate
// fused into routing; query absorption split over threads; 256-thread RMSNorm; tiled prefill matmul; the tiled
// prefill query absorption and value up-projection, as the prompts have 30 to 64 rows) and checks
// the prefill and teacher-forced decode logits against transformers' at the f32 bar, in both modes for V3.2, and
// V3.2 in f16 (the packed kernels' GPU layouts) at the f16 bar.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { verifyCheckpoint, PASS_THRESHOLDS } from '../../engine/cli/verification';
import { passBar } from '../../engine/cli/pass-bars';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import { FIXTURE_NAMES, fixturePath, hasIndexer } from '../support/fixtures';
import { testDevice } from '../support/gpu';

// Two shared fixtures (V2; V3.2 in both modes) and the partial-shape V3 fixture: every path of the kernel, within
// the CI time the whole fixture set would double.
const NAMES = FIXTURE_NAMES.filter((name) => ['tiny-v2', 'tiny-v32', 'shape-v3-fp8-partial'].includes(name));
// V3.2 sparse runs once more with subgroups off where the device has them (SwiftShader does, 4 wide): the
// reductions' workgroup-memory fallback (engine/gpu/subgroups.ts) through every kernel.
const cases = NAMES.flatMap((name) =>
  (hasIndexer(name) ? (['sparse', 'dense'] as const) : (['dense'] as const)).map((attention) => ({ name, attention, subgroups: true })))
  .concat(NAMES.filter(hasIndexer).map((name) => ({ name, attention: 'sparse' as const, subgroups: false })));

describe('GPU kernel layouts match transformers on the fixtures', () => {
  for (const { name, attention, subgroups } of cases) {
    it(`${name} f32 ${attention}${subgroups ? '' : ', subgroups off'}: prefill and decode logits within the f32 bar`, async () => {
      const { device } = await testDevice();
      const dir = fixturePath(name);
      const report = await verifyCheckpoint(device, {
        source: await openCheckpoint(dir), goldenPath: join(dir, 'golden.safetensors'), weights: 'f32', attention, kernelLayout: 'gpu', subgroups,
      });
      for (const phase of [report.prefill, report.decode]) {
        expect(phase.positions).toBeGreaterThan(0);
        expect(phase.maxAbsErr).toBeLessThanOrEqual(PASS_THRESHOLDS.f32.maxAbsErr);
        expect(phase.top1Agree).toBe(1);
      }
      expect(report.pass).toBe(true);
    });
  }

  // f16: the packed matrix-vector kernels in their GPU layout through the model, with the norms inside them (the
  // input norm in the q_a/kv_a pair, q_a_layernorm in the q_b_proj + indexer wq_b pair), judged by the f16 bar.
  it('tiny-v32 f16 sparse: prefill and decode logits within the f16 bar', async () => {
    const { device } = await testDevice();
    const dir = fixturePath('tiny-v32');
    const report = await verifyCheckpoint(device, {
      source: await openCheckpoint(dir), goldenPath: join(dir, 'golden.safetensors'), weights: 'f16', attention: 'sparse', kernelLayout: 'gpu',
    });
    console.log(`tiny-v32 f16 sparse, GPU layouts: prefill ${JSON.stringify(report.prefill)}, decode ${JSON.stringify(report.decode)}`);
    expect(report.bar).toEqual(passBar('f16', 'tiny-v32'));
    for (const phase of [report.prefill, report.decode]) expect(phase.positions).toBeGreaterThan(0);
    expect(report.pass).toBe(true);
  });
});
