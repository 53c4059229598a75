// Golden tests: the WebGPU engine against the logits Hugging Face transformers computed for every fixture —
// prefill, then teacher-forced decode over the latent cache — with f32 weights (and both attention modes for
// V3.2), and with f16 weights against the distributional bar.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { verifyCheckpoint, PASS_THRESHOLDS } from '../../engine/cli/verification';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import { FIXTURE_NAMES, fixturePath, hasIndexer } from '../support/fixtures';
import { testDevice } from '../support/gpu';

// Models without a DSA indexer always attend densely; V3.2 runs in both modes.
const cases = FIXTURE_NAMES.flatMap((name) =>
  (hasIndexer(name) ? (['sparse', 'dense'] as const) : (['dense'] as const)).flatMap((attention) =>
    (['f32', 'f16'] as const).map((weights) => ({ name, attention, weights }))));

describe('engine matches transformers on the fixtures', () => {
  for (const { name, attention, weights } of cases) {
    it(`${name} ${weights} ${attention}: prefill and decode logits within tolerance`, async () => {
      const { device } = await testDevice();
      const dir = fixturePath(name);
      const report = await verifyCheckpoint(device, {
        source: await openCheckpoint(dir), goldenPath: join(dir, 'golden.safetensors'), weights, attention,
      });
      expect(report.attention).toBe(attention);
      for (const phase of [report.prefill, report.decode]) {
        expect(phase.positions).toBeGreaterThan(0);
        if (weights === 'f32') {
          expect(phase.maxAbsErr).toBeLessThanOrEqual(PASS_THRESHOLDS.f32.maxAbsErr);
          expect(phase.top1Agree).toBe(1);
        } else {
          expect(phase.top1Agree).toBeGreaterThanOrEqual(PASS_THRESHOLDS.f16.minTop1Agree);
          expect(phase.meanKL).toBeLessThanOrEqual(PASS_THRESHOLDS.f16.maxMeanKL);
        }
      }
      expect(report.pass).toBe(true);
    });
  }
});
