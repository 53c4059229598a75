// Does choosing experts from routing statistics beat chance? On tiny-v3-fp8 (E = 8, k = 2) the reduced model runs
// in the float64 CPU reference (the GPU matches it within 5e-3, see expert-reduction-gpu.test.ts) over every golden
// sequence — prefill, then teacher-forced decode — and its mean KL against transformers' logits over all positions
// is compared with the mean over 5 seeded random choices of the same number of experts (same group rule).
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readCalibrationFile } from '../../engine/convert/calibration-node';
import { chooseExperts, selectionFromScores, type ExpertSelection } from '../../engine/convert/expert-reduction';
import type { TensorSource } from '../../engine/weights/tensor-source';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import { fixturePath } from '../support/fixtures';
import { referenceQuality } from '../support/reference-quality';

const dir = fixturePath('tiny-v3-fp8');
const goldenPath = join(dir, 'golden.safetensors');
const quality = (source: TensorSource, selection: ExpertSelection) => referenceQuality(source, selection, goldenPath);

/** Seeded scores [E] per MoE layer (a linear congruential generator): a random ranking of the experts. */
function randomScores(seed: number, layers: number, experts: number): Float64Array[] {
  let state = seed;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296;
  return Array.from({ length: layers }, () => Float64Array.from({ length: experts }, next));
}

describe('calibrated expert choice against random choices (tiny-v3-fp8, float64 reference)', () => {
  for (const keep of [4, 6]) {
    it(`keep ${keep}: calibration beats the mean of 5 seeded random choices on mean KL`, async () => {
      const source = await openCheckpoint(dir);
      const c = source.config;
      const chosen = await chooseExperts(source, keep, { calibration: readCalibrationFile(goldenPath, c.vocabSize) });
      const calibrated = await quality(source, chosen);
      const random: { top1: number; meanKL: number }[] = [];
      for (let seed = 1; seed <= 5; seed++) {
        const scores = randomScores(seed, c.numLayers - c.firstKDense, c.nRoutedExperts);
        random.push(await quality(source, selectionFromScores(c, keep, scores, 'heuristic', 0)));
      }
      const mean = (f: (q: { top1: number; meanKL: number }) => number) => random.reduce((s, q) => s + f(q), 0) / random.length;
      const heuristic = await quality(source, await chooseExperts(source, keep));
      console.log(`tiny-v3-fp8 keep ${keep}/8: calibration top1 ${calibrated.top1.toFixed(3)} meanKL ${calibrated.meanKL.toFixed(4)}`
        + ` kept ${chosen.perLayer.map((l) => `[${l.kept}]`).join(' ')}; heuristic top1 ${heuristic.top1.toFixed(3)} meanKL ${heuristic.meanKL.toFixed(4)};`
        + ` random mean top1 ${mean((q) => q.top1).toFixed(3)} meanKL ${mean((q) => q.meanKL).toFixed(4)}`
        + ` (each ${random.map((q) => q.meanKL.toFixed(4)).join(', ')})`);
      expect(calibrated.meanKL).toBeGreaterThan(0); // experts were really dropped
      expect(calibrated.meanKL).toBeLessThan(mean((q) => q.meanKL));
    });
  }
});
