// The engine on the smallest device it must run on: WebGPU's default limits (8 storage buffers a shader stage,
// 16 KiB of workgroup memory, 256 threads a workgroup, 128 MiB bindings) instead of the adapter's. The q8 projection
// pair with its input norm inside binds 9 storage buffers, so there the layer runs the norm and the two projections
// as separate dispatches; the DSA top-k's 512/1,024-thread layouts shrink to 256. Against transformers' logits at
// the format's bar, with no validation error on the device.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { verifyCheckpoint } from '../../engine/cli/verification';
import { createNodeDevice } from '../../engine/gpu/node-gpu';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import { fixturePath } from '../support/fixtures';

describe('WebGPU default limits', () => {
  // q8 on CPU layouts: the pair's fallback; f32 on GPU layouts: the attention, indexer and top-k GPU shapes within
  // the smaller limits (the packed kernels' GPU layouts take a minute on SwiftShader; their pair falls back alike).
  for (const [weights, kernelLayout] of [['q8', 'cpu'], ['f32', 'gpu']] as const) {
    it(`tiny-v32 ${weights} sparse, ${kernelLayout} layouts: within the ${weights} bar, no validation error`, async () => {
      const { device } = await createNodeDevice({ defaultLimits: true });
      expect(device.limits.maxStorageBuffersPerShaderStage).toBe(8);
      const errors: string[] = [];
      device.addEventListener('uncapturederror', (event) => errors.push((event as GPUUncapturedErrorEvent).error.message.split('\n')[0]));
      const dir = fixturePath('tiny-v32');
      const report = await verifyCheckpoint(device, {
        source: await openCheckpoint(dir), goldenPath: join(dir, 'golden.safetensors'), weights, attention: 'sparse', kernelLayout,
      });
      await device.queue.onSubmittedWorkDone();
      expect(errors).toEqual([]);
      for (const phase of [report.prefill, report.decode]) expect(phase.positions).toBeGreaterThan(0);
      expect(report.pass).toBe(true);
      device.destroy();
    });
  }
});
